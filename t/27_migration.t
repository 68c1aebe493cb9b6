# Phased migration (issue 9): UpgradeRequireSunset, UpgradeRequireDeprecation,
# UpgradeRequireBrownout and UpgradeRequireDeprecationPercent.
#
# No test waits for the clock or depends on the time of day: every case is a
# directory under htdocs/mig written now, whose .htaccess (read per request,
# AllowOverride AuthConfig in t/conf/migration.conf.in) holds dates and
# windows computed from the current UTC time, with margins of minutes and
# wrap-around over the hour, midnight and the week handled.  Checked:
# - the phases: a past sunset enforces (426, UR00001), a future one serves
#   with Sunset (+ Link rel="sunset"; report, UR00002), a past deprecation
#   adds Deprecation: @epoch (+ Link rel="deprecation"; deprecated, UR00007),
#   a brownout window that covers now refuses (426 that says "scheduled
#   brownout" and the sunset in HTML, JSON and text, Upgrade-Required-Phase:
#   brownout, Sunset; UR00008), one that does not serves; hourly, daily,
#   weekly and explicit windows;
# - the deprecation percentage: 100 refuses, 0 serves, 50 is sticky per
#   client address and splits a set of addresses;
# - a schedule-only section applies to the requirements it inherits;
# - the exports UPGRADE_REQUIRED_PHASE / upgrade-required-phase (access log,
#   CGI, the ErrorDocument's CGI);
# - compliant requests get none of the headers; a 404 under a scope keeps
#   them (err_headers_out); HTTP/2 (h2c) carries them and a clean 426;
# - httpd -t refuses bad dates, impossible windows, misplaced directives and
#   a mode next to a schedule, naming the directive and the argument;
# - the README recipe "Phasing out TLS 1.0 like PyPI did": its lines, with
#   the dates moved to now, do what the recipe says for a real TLS 1.0
#   client (the ur_legacy_ssl vhost) and a TLS 1.2 one, and its curl
#   excerpts show the headers its dates give.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars header_lines error_log_size error_log_since curl nghttp
              httpd_check directive_contexts);
use URReq qw(req);
use URRun qw(run_cmd);
use POSIX qw(strftime floor);
use Time::Local qw(timegm);
use File::Path qw(make_path remove_tree);
use File::Copy qw(copy);
use JSON::PP ();

POSIX::setlocale(POSIX::LC_TIME(), 'C');
umask 022;

my $v    = t_vars();
my $root = "$v->{documentroot}/mig";
my $now  = time;
my $DAY  = 86400;

# ---- dates ------------------------------------------------------------------
sub iso      { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }
sub iso_min  { strftime('%Y-%m-%dT%H:%MZ', gmtime $_[0]) }
sub iso_day  { strftime('%Y-%m-%d', gmtime $_[0]) }
sub httpdate { strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime $_[0]) }

my $past     = $now - $DAY;
my $past2    = $now - 2 * $DAY;
my $future   = $now + 30 * $DAY;
my $soon     = $now + 10 * $DAY;
my $URL_S    = 'https://example.org/migration/sunset';
my $URL_D    = 'https://example.org/migration/deprecation';

# A recurring window around or away from now, in a cycle of $C minutes
# ($pos: the minute of the cycle now).  Only the forward margin matters (the
# clock only moves on): a window that covers now lasts >= 3 more minutes,
# one that does not starts >= 4 minutes from now.
#   cover       [pos-3, pos+4)        wraps when now is near the cycle's start/end
#   miss        [pos+5, pos+10)
#   wrap-cover  a window that wraps (start > end) and covers now
#   wrap-miss   a window that wraps and does not cover now (impossible in
#               the last minutes of the cycle: a wrapping window always holds
#               the last minute; then it is "miss")
sub cyc {
    my ($C, $pos, $kind) = @_;
    my %w = (
        cover => [ $pos - 3, $pos + 4 ],
        miss  => [ $pos + 5, $pos + 10 ],
        'wrap-cover' => $pos >= $C / 2 ? [ $pos - 3, 5 ] : [ $C - 5, $pos + 4 ],
        'wrap-miss'  => $pos + 5 < $C ? [ $pos + 5, $pos >= 4 ? $pos - 4 : 0 ]
                                      : [ $pos + 5, $pos + 10 ],
    );
    my ($s, $e) = @{ $w{$kind} };
    return ($s % $C, $e % $C);
}
my $min_of_hour = int(($now % 3600) / 60);
my $min_of_day  = int(($now % $DAY) / 60);
# 1970-01-01 was a Thursday: Monday-based weekday of today
my @DAYS = qw(Mon Tue Wed Thu Fri Sat Sun);
my $wday = (floor($now / $DAY) + 3) % 7;
my $min_of_week = $wday * 1440 + $min_of_day;

sub hourly { my ($s, $e) = cyc(60, $min_of_hour, $_[0]); sprintf 'hourly :%02d-:%02d', $s, $e }
sub hm     { sprintf '%02d:%02d', int($_[0] / 60), $_[0] % 60 }
sub daily  { my ($s, $e) = cyc(1440, $min_of_day, $_[0]); 'daily ' . hm($s) . '-' . hm($e) }
sub weekly {
    my ($kind, $day_shift) = @_;
    my ($s, $e) = cyc(10080, $min_of_week, $kind);
    my $day = (int($s / 1440) + ($day_shift // 0)) % 7;
    return "weekly $DAYS[$day] " . hm($s % 1440) . '-' . hm($e % 1440);
}
# a weekly window that started yesterday and crosses midnight into today
# (near midnight, where that would not cover now, the plain covering one)
sub weekly_from_yesterday {
    return weekly('cover') if $min_of_day >= 1430;
    my $s = ($min_of_week - 1440 + 10) % 10080;
    return "weekly $DAYS[int($s / 1440)] " . hm($s % 1440) . '-' . hm(($min_of_day + 4) % 1440);
}
sub explicit { iso($_[0]) . '/' . iso($_[1]) }

# ---- the cases: one directory each ------------------------------------------
remove_tree(grep { -d } glob "$root/*");

sub scope {
    my ($name, $htaccess) = @_;
    my $dir = "$root/$name";
    make_path($dir);
    open my $fh, '>', "$dir/index.html" or die "$dir: $!";
    print $fh "content of /mig/$name/\n";
    close $fh;
    if (defined $htaccess) {
        open $fh, '>', "$dir/.htaccess" or die "$dir: $!";
        print $fh $htaccess;
        close $fh;
    }
    return "/mig/$name/";
}

my $S_future = "UpgradeRequireSunset " . iso($future);
my %ht = (
    enforced     => "UpgradeRequire TLS\nUpgradeRequireSunset " . iso($past) . " $URL_S\n",
    'enforced-dep' => "UpgradeRequire TLS\nUpgradeRequireSunset " . iso($past)
                    . "\nUpgradeRequireDeprecation " . iso($past2) . "\n",
    report       => "UpgradeRequire TLS\n$S_future $URL_S\n",
    'report-nourl' => "UpgradeRequire TLS\n$S_future\n",
    'report-day' => "UpgradeRequire TLS\nUpgradeRequireSunset " . iso_day($future + $DAY) . "\n",
    'report-depsoon' => "UpgradeRequire TLS\n$S_future $URL_S\nUpgradeRequireDeprecation "
                    . iso($soon) . " $URL_D\n",
    dep          => "UpgradeRequire TLS\n$S_future $URL_S\nUpgradeRequireDeprecation "
                    . iso($past) . " $URL_D\n",
    'dep-nourl'  => "UpgradeRequire TLS\n$S_future\nUpgradeRequireDeprecation "
                    . iso_min($past) . "\n",
    'bo-explicit' => "UpgradeRequire TLS\n$S_future $URL_S\nUpgradeRequireBrownout "
                    . explicit($now - 3600, $now + 3600) . "\n",
    'bo-explicit-later' => "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout "
                    . explicit($now + 3600, $now + 7200) . "\n",
    'bo-explicit-over' => "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout "
                    . explicit($now - 7200, $now - 3600) . "\n",
    'bo-dep'     => "UpgradeRequire TLS\n$S_future\nUpgradeRequireDeprecation "
                    . iso($past) . "\nUpgradeRequireBrownout " . explicit($now - 60, $now + 3600) . "\n",
    'bo-several' => "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout "
                    . explicit($now + 3600, $now + 7200) . "\nUpgradeRequireBrownout "
                    . hourly('miss') . "\nUpgradeRequireBrownout " . daily('cover') . "\n",
    'bo-ed'      => "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout "
                    . explicit($now - 3600, $now + 3600) . "\n",
    'pct-100'    => "UpgradeRequire TLS\n$S_future\nUpgradeRequireDeprecation " . iso($past)
                    . "\nUpgradeRequireDeprecationPercent 100\n",
    'pct-0'      => "UpgradeRequire TLS\n$S_future\nUpgradeRequireDeprecation " . iso($past)
                    . "\nUpgradeRequireDeprecationPercent 0\n",
    'pct-50'     => "UpgradeRequire TLS\n$S_future\nUpgradeRequireDeprecation " . iso($past)
                    . "\nUpgradeRequireDeprecationPercent 50\n",
    'pct-before' => "UpgradeRequire TLS\n$S_future\nUpgradeRequireDeprecation " . iso($soon)
                    . "\nUpgradeRequireDeprecationPercent 100\n",
    inherit      => "UpgradeRequire TLS\n",
    'inherit/future' => "$S_future $URL_S\n",
    'inherit/past'   => "UpgradeRequireSunset " . iso($past) . "\n",
    'inherit/brownout' => "$S_future\nUpgradeRequireBrownout " . explicit($now - 3600, $now + 3600) . "\n",
    'sched-parent'   => "UpgradeRequire TLS\n$S_future\n",
    'sched-parent/own' => "UpgradeRequire TLS/1.2\n",
    'inherit-conf'   => "$S_future\nUpgradeRequireDeprecation " . iso($past) . "\n",
    'dep-cgi'    => "UpgradeRequire TLS\n$S_future\nUpgradeRequireDeprecation " . iso($past) . "\n",
    'bo-healthz' => "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout "
                    . explicit($now - 3600, $now + 3600) . "\n",
    'bo-healthz/healthz' => "UpgradeRequire off\n",
);
# recurring windows, each form covering and not covering now
for my $kind (qw(cover miss wrap-cover wrap-miss)) {
    $ht{"hourly-$kind"} = "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout " . hourly($kind) . "\n";
    $ht{"daily-$kind"}  = "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout " . daily($kind) . "\n";
}
$ht{'weekly-cover'}     = "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout " . weekly('cover') . "\n";
$ht{'weekly-miss'}      = "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout " . weekly('miss') . "\n";
$ht{'weekly-otherday'}  = "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout " . weekly('cover', 2) . "\n";
$ht{'weekly-yesterday'} = "UpgradeRequire TLS\n$S_future\nUpgradeRequireBrownout " . weekly_from_yesterday() . "\n";
# the phase in a CGI's environment
for my $name (sort { length $a <=> length $b } keys %ht) { scope($name, $ht{$name}) }
copy("$FindBin::Bin/cgi-bin/phase.cgi", "$root/dep-cgi/phase.cgi") or die "copy: $!";
chmod 0755, "$root/dep-cgi/phase.cgi";
# the scopes as the test wrote them, for a failing run
my $windows = join '', map { "  $_: " . ($ht{$_} =~ s/\n(?=.)/; /gr) } sort keys %ht;

# ---- helpers ------------------------------------------------------------------
sub hdr { join "\n", header_lines($_[0]{head}, $_[1]) }
sub links { join ', ', header_lines($_[0]{head}, 'Link') }
my @SCHEDULE_HEADERS = qw(Sunset Deprecation Link Upgrade-Required-Phase);
sub no_schedule_headers {
    my ($r, $label) = @_;
    my @found = grep { header_lines($r->{head}, $_) } @SCHEDULE_HEADERS;
    ok !@found, "$label: none of Sunset, Deprecation, Link, Upgrade-Required-Phase"
        or diag "found: @found\n$r->{head}";
}

my $logs = $v->{t_logs};
sub access_since {
    my ($off, $want) = @_;
    for (1 .. 50) {
        open my $fh, '<', "$logs/mig_access_log" or die "mig_access_log: $!";
        seek $fh, $off, 0;
        my $text = do { local $/; <$fh> } // '';
        close $fh;
        return $text if $text =~ $want;
        select undef, undef, undef, 0.1;
    }
    return '';
}
sub access_size { (-s "$logs/mig_access_log") // 0 }

# the phase of one plaintext request, seen in the access log
sub phase_logged {
    my ($path, $phase, $label) = @_;
    my $off = access_size();
    my $q = "$path?phase-" . int(rand 1e9);
    req(GET => $q);
    like access_since($off, qr/\Q$q\E/),
        qr/"GET \Q$q\E HTTP\/1\.1" \d+ ur="TLS" phase="\Q$phase\E" note="\Q$phase\E"/,
        "$label: UPGRADE_REQUIRED_PHASE and upgrade-required-phase say $phase";
}

plan tests => 210;
Test::More->builder->failure_output(\*STDERR);
diag "the scopes of this run (now " . iso($now) . "):\n$windows"
    if $ENV{TEST_VERBOSE};

# ---- enforced: the sunset has passed ------------------------------------------
my $off = error_log_size();
my $r = req(GET => '/mig/enforced/');
is $r->{status}, 426, 'sunset yesterday: 426';
is hdr($r, 'Upgrade'), 'TLS/1.0, HTTP/1.1', 'the ordinary 426: Upgrade: TLS/1.0, HTTP/1.1';
unlike hdr($r, 'Upgrade-Required-Phase'), qr/brownout/, 'not a brownout';
like error_log_since($off, qr/UR00001/),
    qr/UR00001: 426 Upgrade Required: unmet requirement 'TLS' \(\S+\/mig\/enforced\/\.htaccess:1\): plaintext connection, the sunset has passed; URI \/mig\/enforced\//,
    'logged as UR00001 with the rule\'s file:line';
phase_logged('/mig/enforced/', 'enforced', 'sunset passed');
$r = req(GET => '/mig/enforced-dep/');
is $r->{status}, 426, 'deprecation and sunset both passed: 426';
$r = req(GET => '/mig/enforced/', tls => 1);
is $r->{status}, 200, 'sunset passed, over TLS: 200';
no_schedule_headers($r, 'sunset passed, compliant request');

# ---- report: a future sunset ----------------------------------------------------
$off = error_log_size();
$r = req(GET => '/mig/report/');
is $r->{status}, 200, 'future sunset: served';
like $r->{body}, qr{content of /mig/report/}, 'with its content';
is hdr($r, 'Sunset'), httpdate($future), 'Sunset: the HTTP-date of the sunset (RFC 8594)';
is links($r), "<$URL_S>; rel=\"sunset\"", 'Link: <URL>; rel="sunset"';
is hdr($r, 'Deprecation'), '', 'no Deprecation before a deprecation date';
ok !(grep { /TLS/ } @{ $r->{upgrade} }), 'no Upgrade advertisement on the 200';
like error_log_since($off, qr/UR00002/),
    qr/UR00002: report mode, would answer 426 from the sunset \Q${\ httpdate($future)}\E: unmet requirement 'TLS' \(\S+\/mig\/report\/\.htaccess:1\): plaintext connection; URI \/mig\/report\//,
    'logged as UR00002 with the rule\'s file:line';
phase_logged('/mig/report/', 'report', 'future sunset');
$r = req(GET => '/mig/report-nourl/');
is $r->{status}, 200, 'future sunset without URL: served';
is hdr($r, 'Sunset'), httpdate($future), '... with Sunset';
is links($r), '', '... and no Link';
$r = req(GET => '/mig/report-day/');
is hdr($r, 'Sunset'), httpdate(timegm(0, 0, 0, (gmtime($future + $DAY))[3, 4, 5])),
    'a sunset given as YYYY-MM-DD is midnight UTC';
$r = req(GET => '/mig/report-depsoon/');
is $r->{status}, 200, 'deprecation date not reached: served';
is hdr($r, 'Sunset'), httpdate($future), '... with Sunset';
is hdr($r, 'Deprecation'), '', '... and no Deprecation yet';
unlike links($r), qr/rel="deprecation"/, '... nor its Link';
phase_logged('/mig/report-depsoon/', 'report', 'before the deprecation date');
$r = req(GET => '/mig/report/', tls => 1);
is $r->{status}, 200, 'report scope over TLS: 200';
no_schedule_headers($r, 'report scope, compliant request');

# ---- deprecated: the deprecation date has passed --------------------------------
$off = error_log_size();
$r = req(GET => '/mig/dep/');
is $r->{status}, 200, 'deprecation yesterday, sunset ahead: served';
like $r->{body}, qr{content of /mig/dep/}, 'with its content';
is hdr($r, 'Sunset'), httpdate($future), 'Sunset';
is hdr($r, 'Deprecation'), '@' . $past, 'Deprecation: @<unix seconds> (RFC 9745)';
my @link = header_lines($r->{head}, 'Link');
like links($r), qr/(?:^|, )<\Q$URL_S\E>; rel="sunset"(?:,|$)/, 'Link rel="sunset"';
like links($r), qr/(?:^|, )<\Q$URL_D\E>; rel="deprecation"(?:,|$)/, 'Link rel="deprecation"';
is scalar(() = links($r) =~ /rel=/g), 2, 'exactly two Link values (' . scalar(@link) . ' Link line(s))';
like error_log_since($off, qr/UR00007/),
    qr/UR00007: deprecated, served with Deprecation and Sunset \Q${\ httpdate($future)}\E: unmet requirement 'TLS' \(\S+\/mig\/dep\/\.htaccess:1\): plaintext connection; URI \/mig\/dep\//,
    'logged as UR00007 with the rule\'s file:line';
phase_logged('/mig/dep/', 'deprecated', 'past deprecation');
$r = req(GET => '/mig/dep-nourl/');
is hdr($r, 'Deprecation'), '@' . (floor($past / 60) * 60),
    'a deprecation given as YYYY-MM-DDTHH:MMZ: Deprecation @epoch of that minute';
is links($r), '', 'no URLs: no Link';
$r = req(GET => '/mig/dep/', tls => 1);
is $r->{status}, 200, 'deprecated scope over TLS: 200';
no_schedule_headers($r, 'deprecated scope, compliant request (TLS)');
# err_headers_out: the application's error pages keep them
$r = req(GET => '/mig/dep/no-such-page.html');
is $r->{status}, 404, 'a missing page under the deprecated scope: 404';
is hdr($r, 'Sunset'), httpdate($future), 'the 404 carries Sunset';
is hdr($r, 'Deprecation'), '@' . $past, 'the 404 carries Deprecation';
like links($r), qr/rel="deprecation"/, 'the 404 carries the Links';
$r = req(GET => '/mig/report/no-such-page.html');
is hdr($r, 'Sunset'), httpdate($future), 'a 404 under a report-phase scope carries Sunset';
$r = req(GET => '/mig/dep/no-such-page.html', tls => 1);
no_schedule_headers($r, 'a 404 to a compliant request');
# CGI env
$r = req(GET => '/mig/dep-cgi/phase.cgi');
is $r->{status}, 200, 'a CGI script under a deprecated scope runs';
like $r->{body}, qr/^UPGRADE_REQUIRED=TLS$/m, 'it sees UPGRADE_REQUIRED';
like $r->{body}, qr/^UPGRADE_REQUIRED_PHASE=deprecated$/m, 'it sees UPGRADE_REQUIRED_PHASE=deprecated';
$r = req(GET => '/mig/dep-cgi/phase.cgi', tls => 1);
like $r->{body}, qr/^UPGRADE_REQUIRED_PHASE=unset$/m, 'over TLS it sees no phase';

# ---- brownouts ----------------------------------------------------------------
# "enforced until" the end of the window, "permanently from" the sunset
sub brownout_re {
    my ($until) = @_;
    return qr/This is a scheduled brownout: the requirement is enforced until \Q${\ httpdate($until)}\E, and permanently from \Q${\ httpdate($future)}\E\./;
}
my $sun_re = brownout_re($now + 3600);
$off = error_log_size();
$r = req(GET => '/mig/bo-explicit/', headers => [ Accept => 'text/html' ]);
is $r->{status}, 426, 'an explicit brownout window around now: 426';
is hdr($r, 'Upgrade-Required-Phase'), 'brownout', 'Upgrade-Required-Phase: brownout';
is hdr($r, 'Sunset'), httpdate($future), 'Sunset on the brownout 426';
is hdr($r, 'Upgrade'), 'TLS/1.0, HTTP/1.1', 'the 426 advertises the requirement';
like $r->{body}, qr/scheduled brownout/i, 'HTML body: a scheduled brownout';
like $r->{body}, $sun_re, 'HTML body: until the end of the window, permanently from the sunset';
like error_log_since($off, qr/UR00008/),
    qr/UR00008: 426 Upgrade Required in a scheduled brownout \(sunset \Q${\ httpdate($future)}\E\): unmet requirement 'TLS' \(\S+\/mig\/bo-explicit\/\.htaccess:1\): plaintext connection; URI \/mig\/bo-explicit\//,
    'logged as UR00008 with the rule\'s file:line';
$r = req(GET => '/mig/bo-explicit/', headers => [ Accept => 'application/json' ]);
my $json = eval { JSON::PP->new->decode($r->{body}) } || {};
is $json->{status}, 426, 'JSON body: valid problem+json, status 426';
like $json->{detail} // '', qr/scheduled brownout/i, 'JSON detail: a scheduled brownout';
like $json->{detail} // '', $sun_re, 'JSON detail: until the end of the window, permanently from the sunset';
is $json->{phase} // '', 'brownout', 'JSON member phase: brownout';
is $json->{sunset} // '', httpdate($future), 'JSON member sunset: the HTTP-date';
$r = req(GET => '/mig/bo-explicit/', headers => [ Accept => 'text/plain' ]);
like $r->{body}, qr/scheduled brownout/i, 'text body: a scheduled brownout';
like $r->{body}, $sun_re, 'text body: until the end of the window, permanently from the sunset';
phase_logged('/mig/bo-explicit/', 'brownout', 'explicit window');
$r = req(GET => '/mig/bo-explicit/', tls => 1);
is $r->{status}, 200, 'brownout scope over TLS: 200';
no_schedule_headers($r, 'brownout, compliant request');
$r = req(GET => '/mig/bo-explicit-later/');
is $r->{status}, 200, 'an explicit window later today: served';
is hdr($r, 'Sunset'), httpdate($future), '... with Sunset';
is hdr($r, 'Upgrade-Required-Phase') =~ /brownout/ ? 1 : 0, 0, '... not as a brownout';
$r = req(GET => '/mig/bo-explicit-over/');
is $r->{status}, 200, 'an explicit window that ended an hour ago: served';
$r = req(GET => '/mig/bo-dep/');
is $r->{status}, 426, 'a brownout during the deprecation phase: 426';
is hdr($r, 'Upgrade-Required-Phase'), 'brownout', '... as a brownout';
$r = req(GET => '/mig/bo-several/');
is $r->{status}, 426, 'several brownout lines: the one covering now decides (426)';

# recurring windows
my %rec = (
    'hourly-cover' => 426, 'hourly-miss' => 200, 'hourly-wrap-cover' => 426,
    'hourly-wrap-miss' => 200, 'daily-cover' => 426, 'daily-miss' => 200,
    'daily-wrap-cover' => 426, 'daily-wrap-miss' => 200, 'weekly-cover' => 426,
    'weekly-miss' => 200, 'weekly-otherday' => 200, 'weekly-yesterday' => 426,
);
for my $name (sort keys %rec) {
    my ($win) = $ht{$name} =~ /^UpgradeRequireBrownout (.*)$/m;
    $r = req(GET => "/mig/$name/");
    is $r->{status}, $rec{$name}, "$name '$win' at " . iso($now) . " (" . $DAYS[$wday] . "): $rec{$name}";
    if ($rec{$name} == 426) {
        is hdr($r, 'Upgrade-Required-Phase'), 'brownout', "$name: Upgrade-Required-Phase: brownout";
    }
    # a window [minute-3, minute+4) ends 4 minutes after this minute began
    if ($name =~ /^(?:hourly|daily|weekly)-cover$/) {
        like req(GET => "/mig/$name/", headers => [ Accept => 'text/plain' ])->{body},
            brownout_re(floor($now / 60) * 60 + 240), "$name: the body says when this window ends";
    }
    else {
        is hdr($r, 'Sunset'), httpdate($future), "$name: served with Sunset";
    }
}

# the ErrorDocument of a brownout 426 (a CGI) sees the same phase
$r = req(GET => '/mig/bo-ed/');
is $r->{status}, 426, 'brownout with a CGI ErrorDocument: 426';
like $r->{body}, qr/^REDIRECT_UPGRADE_REQUIRED_PHASE=brownout$/m,
    'the ErrorDocument CGI sees REDIRECT_UPGRADE_REQUIRED_PHASE=brownout';
like $r->{body}, qr/^UPGRADE_REQUIRED=TLS\nUPGRADE_REQUIRED_PHASE=brownout$/m,
    'the ErrorDocument request has UPGRADE_REQUIRED_PHASE next to UPGRADE_REQUIRED';
is hdr($r, 'Upgrade-Required-Phase'), 'brownout', 'the 426 keeps its phase header, one line';
is hdr($r, 'Sunset'), httpdate($future), 'and its Sunset, one line';
phase_logged('/mig/bo-ed/', 'brownout', 'a brownout answered by a CGI ErrorDocument (the access log sees the final request)');

# a health check exempted below a scope in a brownout
$r = req(GET => '/mig/bo-healthz/');
is $r->{status}, 426, 'health check parent: in a brownout';
$r = req(GET => '/mig/bo-healthz/healthz/');
is $r->{status}, 200, 'UpgradeRequire off below it: the health check is served';
no_schedule_headers($r, 'the exempt health check');

# ---- the deprecation percentage ---------------------------------------------------
$off = error_log_size();
$r = req(GET => '/mig/pct-100/');
is $r->{status}, 426, 'UpgradeRequireDeprecationPercent 100: 426';
is hdr($r, 'Deprecation'), '@' . $past, '... with Deprecation';
like error_log_since($off, qr/UR00007/),
    qr/UR00007: deprecated, 426 Upgrade Required for 100% of clients \(sunset \Q${\ httpdate($future)}\E\): unmet requirement 'TLS' \(\S+\/mig\/pct-100\/\.htaccess:1\)/,
    'logged as UR00007, refused for the percentage';
phase_logged('/mig/pct-100/', 'deprecated', 'percent 100');
$r = req(GET => '/mig/pct-100/', tls => 1);
is $r->{status}, 200, 'percent 100, over TLS: 200';
$r = req(GET => '/mig/pct-0/');
is $r->{status}, 200, 'UpgradeRequireDeprecationPercent 0: served';
is hdr($r, 'Deprecation'), '@' . $past, '... as deprecated';
$r = req(GET => '/mig/pct-before/');
is $r->{status}, 200, 'percent 100 before the deprecation date: served (report phase)';
my %seen;
for my $from (qw(127.0.0.1 127.0.0.2)) {
    my @st = map { req(GET => '/mig/pct-50/', from => $from)->{status} } 1 .. 5;
    my %u = map { $_ => 1 } @st;
    is join(',', sort keys %u) =~ /^(?:200|426)$/ ? 1 : 0, 1,
        "percent 50: $from gets the same answer 5 times (@st)";
}
for my $i (1 .. 24) {
    $seen{ req(GET => '/mig/pct-50/', from => "127.0.0.$i")->{status} }++;
}
ok $seen{200} && $seen{426} && keys(%seen) == 2,
    'percent 50 over 24 client addresses: some are served, some refused'
    or diag join ", ", map { "$_: $seen{$_}" } sort keys %seen;

# ---- a schedule-only section applies to what it inherits ----------------------------
$r = req(GET => '/mig/inherit/');
is $r->{status}, 426, 'parent .htaccess UpgradeRequire TLS, no schedule: 426';
$r = req(GET => '/mig/inherit/future/');
is $r->{status}, 200, 'child .htaccess with only a future sunset: served';
is hdr($r, 'Sunset'), httpdate($future), '... with Sunset';
like links($r), qr/rel="sunset"/, '... and its Link';
$r = req(GET => '/mig/inherit/past/');
is $r->{status}, 426, 'child .htaccess with only a past sunset: 426';
$r = req(GET => '/mig/inherit/brownout/');
is hdr($r, 'Upgrade-Required-Phase'), 'brownout', 'child .htaccess with only a brownout: the inherited rule browns out';
# ... and, as a mode does, the schedule travels with the lines: a section
# with lines of its own and no schedule enforces them
$r = req(GET => '/mig/sched-parent/own/');
is $r->{status}, 426, 'own UpgradeRequire lines under a scheduled parent: enforced (426)';
is hdr($r, 'Sunset'), '', "... without the parent's Sunset";
$r = req(GET => '/mig/inherit-conf/');
is $r->{status}, 200, '<Directory> UpgradeRequire TLS, .htaccess schedule only: served';
is hdr($r, 'Deprecation'), '@' . $past, '... as deprecated';
$r = req(GET => '/mig/inherit-conf/', tls => 1);
no_schedule_headers($r, '<Directory> rule, compliant request');

# ---- HTTP/2 (h2c, prior knowledge) ---------------------------------------------------
my $out = nghttp('-v', "$v->{url}/mig/dep/");
is $? >> 8, 0, 'h2c deprecated: nghttp exits 0';
like $out, qr/:status: 200/, 'h2c deprecated: 200';
like $out, qr/^\s*\[[\s\d.]+\] recv \(stream_id=\d+\) sunset: \Q${\ httpdate($future)}\E$/m, 'h2c: sunset header';
like $out, qr/^\s*\[[\s\d.]+\] recv \(stream_id=\d+\) deprecation: \@$past$/m, 'h2c: deprecation header';
like $out, qr/^\s*\[[\s\d.]+\] recv \(stream_id=\d+\) link: .*rel="deprecation"/m, 'h2c: link header';
$out = nghttp('-v', "$v->{url}/mig/bo-explicit/");
is $? >> 8, 0, 'h2c brownout: nghttp exits 0';
like $out, qr/:status: 426/, 'h2c brownout: 426';
like $out, qr/upgrade-required-phase: brownout/, 'h2c brownout: upgrade-required-phase: brownout';
like $out, qr/recv \(stream_id=\d+\) sunset: /, 'h2c brownout: sunset';
unlike $out, qr/^\s*\[[\s\d.]+\] recv \(stream_id=\d+\) (?:upgrade|connection):/mi,
    'h2c brownout: no Upgrade/Connection header on the stream';
unlike $out, qr/recv (?:RST_STREAM|GOAWAY)|PROTOCOL_ERROR|INTERNAL_ERROR/,
    'h2c brownout: no RST_STREAM or GOAWAY';
$out = curl('-si', '--http2-prior-knowledge', "$v->{url}/mig/dep/");
like $out, qr{^HTTP/2 200}m, 'curl --http2-prior-knowledge: HTTP/2 200';
like $out, qr/^deprecation: \@$past\r?$/mi, 'curl over h2c: Deprecation';
$out = curl('-s', '-o', '-', '-w', '\n%{http_version} %{http_code}\n',
            '--http2-prior-knowledge', '-H', 'Accept: application/json', "$v->{url}/mig/bo-explicit/");
like $out, qr/^2 426$/m, 'curl over h2c: brownout 426';
like $out, qr/brownout/i, 'curl over h2c: the brownout body arrives';

# ---- configuration errors (httpd -t) ----------------------------------------------------
{
    my $S = 'UpgradeRequireSunset 2099-06-01';
    my @cfg = (
        # label, lines in a <Location>, expected (undef: Syntax OK; a regex)
        [ 'a full schedule', "UpgradeRequire TLS/1.2\n$S https://example.org/tls\n"
          . "UpgradeRequireDeprecation 2098-01-01T00:00Z https://example.org/tls\n"
          . "UpgradeRequireBrownout hourly :00-:10\nUpgradeRequireBrownout hourly :55-:05\n"
          . "UpgradeRequireBrownout daily 23:30-00:30\nUpgradeRequireBrownout weekly Tue 14:00-16:00\n"
          . "UpgradeRequireBrownout 2098-12-01T14:00Z/2098-12-02T02:00:30Z\n"
          . "UpgradeRequireDeprecationPercent 25", undef ],
        [ 'a past sunset is fine', "UpgradeRequire TLS\nUpgradeRequireSunset 2020-01-01", undef ],
        [ 'a leap day', "UpgradeRequireSunset 2028-02-29T12:00:59Z", undef ],
        [ 'schedule only (inherits)', "UpgradeRequireSunset 2099-01-01\nUpgradeRequireBrownout weekly Sun 23:00-01:00", undef ],
        [ 'bad day 2027-02-30', 'UpgradeRequireSunset 2027-02-30', q{UpgradeRequireSunset: '2027-02-30': no such day in that month (allowed: a real date, YYYY-MM-DD)} ],
        [ 'no leap day 2027-02-29', 'UpgradeRequireSunset 2027-02-29', q{UpgradeRequireSunset: '2027-02-29': no such day in that month (allowed: a real date, YYYY-MM-DD)} ],
        [ 'bad month 2027-13-01', 'UpgradeRequireSunset 2027-13-01', q{UpgradeRequireSunset: '2027-13-01': not a date (allowed: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, UTC)} ],
        [ 'hour 25', 'UpgradeRequireSunset 2027-01-01T25:00Z', q{UpgradeRequireSunset: '2027-01-01T25:00Z': hour, minute or second out of range (allowed: 00:00:00 to 23:59:59)} ],
        [ 'no Z', 'UpgradeRequireSunset 2027-01-01T14:00', q{UpgradeRequireSunset: '2027-01-01T14:00': a time must be in UTC: end it with Z (a local time is ambiguous)} ],
        [ 'not a date', 'UpgradeRequireSunset tomorrow', q{UpgradeRequireSunset: 'tomorrow': not a date (allowed: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, UTC)} ],
        [ 'bad deprecation date', "$S\nUpgradeRequireDeprecation 2027-04-31", q{UpgradeRequireDeprecation: '2027-04-31': no such day in that month (allowed: a real date, YYYY-MM-DD)} ],
        [ 'deprecation at the sunset', "$S\nUpgradeRequireDeprecation 2099-06-01T00:00Z",
          q{UpgradeRequireDeprecation: '2099-06-01T00:00Z' is not before the sunset Mon, 01 Jun 2099 00:00:00 GMT (line 10; allowed: a deprecation date earlier than the sunset)} ],
        [ 'deprecation after the sunset', "$S\nUpgradeRequireDeprecation 2099-07-01",
          q{UpgradeRequireDeprecation: '2099-07-01' is not before the sunset Mon, 01 Jun 2099 00:00:00 GMT (line 10; allowed: a deprecation date earlier than the sunset)} ],
        [ 'deprecation without a sunset', 'UpgradeRequireDeprecation 2098-01-01',
          q{UpgradeRequireDeprecation: '2098-01-01' needs an UpgradeRequireSunset earlier in the same section (allowed: UpgradeRequireSunset, then UpgradeRequireDeprecation, UpgradeRequireBrownout, UpgradeRequireDeprecationPercent)} ],
        [ 'deprecation before the sunset line', "UpgradeRequireDeprecation 2098-01-01\n$S",
          q{UpgradeRequireDeprecation: '2098-01-01' needs an UpgradeRequireSunset earlier in the same section (allowed: UpgradeRequireSunset, then UpgradeRequireDeprecation, UpgradeRequireBrownout, UpgradeRequireDeprecationPercent)} ],
        [ 'brownout without a sunset', 'UpgradeRequireBrownout hourly :00-:10',
          q{UpgradeRequireBrownout: 'hourly :00-:10' needs an UpgradeRequireSunset earlier in the same section (allowed: UpgradeRequireSunset, then UpgradeRequireDeprecation, UpgradeRequireBrownout, UpgradeRequireDeprecationPercent)} ],
        [ 'percent without a sunset', 'UpgradeRequireDeprecationPercent 10',
          q{UpgradeRequireDeprecationPercent: '10' needs an UpgradeRequireSunset earlier in the same section (allowed: UpgradeRequireSunset, then UpgradeRequireDeprecation, UpgradeRequireBrownout, UpgradeRequireDeprecationPercent)} ],
        [ 'percent without a deprecation date', "$S\nUpgradeRequireDeprecationPercent 10",
          q{UpgradeRequireDeprecationPercent: needs an UpgradeRequireDeprecation earlier in the same section (the percentage applies between deprecation and sunset)} ],
        [ 'percent 101', "$S\nUpgradeRequireDeprecation 2098-01-01\nUpgradeRequireDeprecationPercent 101",
          q{UpgradeRequireDeprecationPercent: '101' (allowed: a whole number from 0 to 100)} ],
        [ 'percent -1', "$S\nUpgradeRequireDeprecation 2098-01-01\nUpgradeRequireDeprecationPercent -1",
          q{UpgradeRequireDeprecationPercent: '-1' (allowed: a whole number from 0 to 100)} ],
        [ 'percent abc', "$S\nUpgradeRequireDeprecation 2098-01-01\nUpgradeRequireDeprecationPercent abc",
          q{UpgradeRequireDeprecationPercent: 'abc' (allowed: a whole number from 0 to 100)} ],
        [ 'hourly start == end', "$S\nUpgradeRequireBrownout hourly :10-:10", q{UpgradeRequireBrownout: 'hourly :10-:10': the window is empty (allowed: a start and an end that differ)} ],
        [ 'hourly minute 60', "$S\nUpgradeRequireBrownout hourly :00-:60", q{UpgradeRequireBrownout: 'hourly :00-:60': not a window of minutes (allowed: hourly :MM-:MM)} ],
        [ 'daily hour 24', "$S\nUpgradeRequireBrownout daily 24:00-01:00", q{UpgradeRequireBrownout: 'daily 24:00-01:00': not a window of times (allowed: HH:MM-HH:MM, UTC)} ],
        [ 'daily minute 75', "$S\nUpgradeRequireBrownout daily 10:75-11:00", q{UpgradeRequireBrownout: 'daily 10:75-11:00': not a window of times (allowed: HH:MM-HH:MM, UTC)} ],
        [ 'daily start == end', "$S\nUpgradeRequireBrownout daily 10:00-10:00", q{UpgradeRequireBrownout: 'daily 10:00-10:00': the window is empty (allowed: a start and an end that differ)} ],
        [ 'weekly unknown day', "$S\nUpgradeRequireBrownout weekly Xyz 14:00-16:00", q{UpgradeRequireBrownout: 'weekly Xyz 14:00-16:00': unknown day (allowed: Mon, Tue, Wed, Thu, Fri, Sat, Sun)} ],
        [ 'explicit END == START', "$S\nUpgradeRequireBrownout 2098-01-15T14:00Z/2098-01-15T14:00Z",
          q{UpgradeRequireBrownout: '2098-01-15T14:00Z/2098-01-15T14:00Z': the window is empty (allowed: an end after the start)} ],
        [ 'explicit END < START', "$S\nUpgradeRequireBrownout 2098-01-15T16:00Z/2098-01-15T14:00Z",
          q{UpgradeRequireBrownout: '2098-01-15T16:00Z/2098-01-15T14:00Z': the window ends before it starts (allowed: an end after the start)} ],
        [ 'explicit window after the sunset', "$S\nUpgradeRequireBrownout 2099-07-01T14:00Z/2099-07-01T16:00Z",
          q{UpgradeRequireBrownout: '2099-07-01T14:00Z/2099-07-01T16:00Z' starts after the sunset Mon, 01 Jun 2099 00:00:00 GMT, when enforcement is permanent anyway (allowed: a window before the sunset)} ],
        [ 'explicit window with a bad date', "$S\nUpgradeRequireBrownout 2098-02-30T14:00Z/2098-03-01T16:00Z",
          q{UpgradeRequireBrownout: '2098-02-30T14:00Z/2098-03-01T16:00Z': no such day in that month (allowed: a real date, YYYY-MM-DD)} ],
        [ 'unknown window form', "$S\nUpgradeRequireBrownout monthly 1 10:00-11:00", q{UpgradeRequireBrownout: 'monthly 1 10:00-11:00': unknown window (allowed: hourly :MM-:MM, daily HH:MM-HH:MM, weekly Day HH:MM-HH:MM, or START/END in ISO 8601 UTC)} ],
        [ 'mode report next to a schedule', "UpgradeRequire TLS\nUpgradeRequireMode report\n$S",
          q{UpgradeRequireSunset: '2099-06-01' in a section with an UpgradeRequireMode is contradictory (allowed: a mode or a schedule in one section, not both)} ],
        [ 'mode enforce after a schedule', "UpgradeRequire TLS\n$S\nUpgradeRequireMode enforce",
          qr/^UpgradeRequireMode: 'enforce' in a section with a migration schedule \(\S+:11\) is contradictory \(allowed: a mode or a schedule in one section, not both\)$/m ],
        [ 'trailing comment on UpgradeRequireSunset', 'UpgradeRequireSunset 2099-01-01 # the blog post',
          q{UpgradeRequireSunset: argument '#' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)} ],
    );
    for my $c (@cfg) {
        my ($label, $lines, $want) = @$c;
        my ($status, $cout) = httpd_check("<Location /x>\n$lines\n</Location>");
        if (!defined $want) {
            ok $status == 0 && $cout =~ /Syntax OK/, "httpd -t accepts $label" or diag $cout;
        }
        else {
            my $re = ref $want ? $want : qr/^\Q$want\E$/m;
            ok $status != 0 && $cout =~ $re, "httpd -t refuses $label: " . (ref $want ? 'the message' : 'exact message')
                or diag "got: $cout", ref $want ? '' : "want: $want\n";
        }
    }
    # httpd -L, from the command table: allowed where UpgradeRequire is
    my %where = %{ directive_contexts() };
    for my $d (qw(UpgradeRequireSunset UpgradeRequireDeprecation UpgradeRequireBrownout
                  UpgradeRequireDeprecationPercent)) {
        is $where{$d} // '', 'Allowed in *.conf anywhere and in .htaccess',
            "httpd -L: $d anywhere and in .htaccess";
    }
}

# ---- the README recipe, its dates moved to now ----------------------------------------
# (see the recipe "Phasing out TLS 1.0 like PyPI did")
open my $rf, '<', "$v->{top_dir}/README.md" or die "README.md: $!";
my $readme = do { local $/; <$rf> };
close $rf;
my ($recipe) = $readme =~ /^\*\*Phasing out TLS 1\.0 like PyPI did\.\*\*(.*?)(?=^\*\*|^## )/ms;
$recipe //= '';
my @blocks = $recipe =~ /^```apache\n(.*?)^```$/msg;
my ($final) = grep { /UpgradeRequireBrownout/ && /healthz/ } @blocks;
$final //= '';
my ($main_scope) = $final =~ /<Location "\/">\n(.*?)<\/Location>/s;
my ($health)     = $final =~ /<Location "\/healthz">\n(.*?)<\/Location>/s;
my @lines  = grep { /^UpgradeRequire/ } map { s/^\s+|\s+$//gr } split /\n/, $main_scope // '';
my @hlines = grep { /^UpgradeRequire/ } map { s/^\s+|\s+$//gr } split /\n/, $health // '';
my ($r_sun)  = map { /^UpgradeRequireSunset (\S+) (\S+)$/ ? [ $1, $2 ] : () } @lines;
my ($r_dep)  = map { /^UpgradeRequireDeprecation (\S+) (\S+)$/ ? [ $1, $2 ] : () } @lines;
my ($r_hour) = map { /^UpgradeRequireBrownout hourly :(\d\d)-:(\d\d)$/ ? [ $1, $2 ] : () } @lines;
ok @lines >= 4 && $r_sun && $r_dep && $r_hour && @hlines,
    'README recipe: its final block has a requirement, sunset and deprecation with URLs, an hourly brownout, a health check'
    or diag "recipe block:\n$final";
$r_sun  //= [ '2027-01-15', 'https://example.invalid/' ];
$r_dep  //= [ '2026-10-01', 'https://example.invalid/' ];
$r_hour //= [ '00', '10' ];
sub date_epoch {
    my ($d) = @_;
    my ($y, $m, $dd, $H, $M, $Sx) = $d =~ /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d))?Z)?$/
        or return 0;
    return timegm($Sx // 0, $M // 0, $H // 0, $dd, $m - 1, $y);
}
# what the recipe's curl excerpts show is what its dates give
my $excerpts = join "\n", $recipe =~ /^```(?:sh|text|console)?\n(.*?)^```$/msg;
like $excerpts, qr/^Sunset: \Q${\ httpdate(date_epoch($r_sun->[0]))}\E\r?$/m,
    "README excerpt: Sunset is the HTTP-date of $r_sun->[0]";
like $excerpts, qr/^Deprecation: \@${\ date_epoch($r_dep->[0])}\r?$/m,
    "README excerpt: Deprecation is \@epoch of $r_dep->[0]";
like $excerpts, qr/^Link: .*<\Q$r_dep->[1]\E>; rel="deprecation"/m,
    'README excerpt: Link rel="deprecation" with the recipe\'s URL';
like $excerpts, qr/^Upgrade-Required-Phase: brownout\r?$/m,
    'README excerpt: the brownout 426 shows Upgrade-Required-Phase';
# the brownout sentence the README quotes, its dates as patterns
my ($quoted) = $excerpts =~ /^(This is a scheduled brownout: .*\.)$/m;
$quoted //= 'This is a scheduled brownout (not quoted in the README)';
my $HTTPDATE = qr/[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT/;
my $quoted_re = join '', map { /^\x00$/ ? $HTTPDATE : quotemeta }
    split /(\x00)/, $quoted =~ s/$HTTPDATE/\x00/gr;
like $quoted, qr/until \w{3}, \d\d \w{3} \d{4} \d\d:10:00 GMT, and permanently from \Q${\ httpdate(date_epoch($r_sun->[0]))}\E/,
    'README excerpt: the hourly brownout ends at :10, permanently from the recipe\'s sunset';

# the recipe's lines, their dates and hourly window moved relative to now
my $len = ($r_hour->[1] - $r_hour->[0]) % 60;
sub shifted {
    my (%at) = @_;    # sunset, deprecation (epochs), hour_start (minute), explicit [a, b]
    my @out;
    for my $l (@lines) {
        my $x = $l;
        $x =~ s/^(UpgradeRequireSunset) \S+/$1 . ' ' . iso($at{sunset})/e;
        $x =~ s/^(UpgradeRequireDeprecation) \S+/$1 . ' ' . iso($at{deprecation})/e;
        $x =~ s/^(UpgradeRequireBrownout hourly) \S+/sprintf '%s :%02d-:%02d', $1, $at{hour} % 60, ($at{hour} + $len) % 60/e;
        $x =~ s{^(UpgradeRequireBrownout) \S+/\S+$}{$1 . ' ' . explicit(@{ $at{explicit} })}e;
        push @out, $x;
    }
    return join("\n", @out) . "\n";
}
my %phase = (
    report     => { sunset => $future, deprecation => $soon, hour => $min_of_hour + 5, explicit => [ $soon + 3600, $soon + 7200 ] },
    deprecated => { sunset => $future, deprecation => $past, hour => $min_of_hour + 5, explicit => [ $soon, $soon + 3600 ] },
    hourly     => { sunset => $future, deprecation => $past, hour => $min_of_hour - 1, explicit => [ $soon, $soon + 3600 ] },
    explicit   => { sunset => $future, deprecation => $past, hour => $min_of_hour + 5, explicit => [ $now - 3600, $now + 3600 ] },
    sunset     => { sunset => $past, deprecation => $past2, hour => $min_of_hour + 5, explicit => [ $now - 10 * $DAY, $now - 9 * $DAY ] },
);
my $legacy = Apache::Test::config()->{vhosts}{ur_legacy_ssl}{port}
    or die "no ur_legacy_ssl vhost in the generated config\n";
# one request over openssl s_client with TLS $ver (tls1, tls1_2) to the
# vhost that lets TLS 1.0 in, as the recipe's earlier step explains
sub s_client {
    my ($ver, $path) = @_;
    my ($sout) = run_cmd(cmd => [
        'openssl', 's_client', '-brief', '-ign_eof', "-$ver",
        '-cipher', 'DEFAULT:@SECLEVEL=0', '-connect', "127.0.0.1:$legacy",
        '-servername', $v->{host}, '-CAfile', $v->{ca}, '-verify_return_error',
    ], stdin => "GET $path HTTP/1.1\r\nHost: $v->{host}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
    my %r = (status => 0, head => '', body => '', out => $sout);
    @r{qw(head status body)} = ($1, $2, $3) if $sout =~ m{^(HTTP/1\.1 (\d{3}) .*?\r\n\r\n)(.*)}ms;
    return \%r;
}
for my $p (sort keys %phase) {
    my $path = scope("recipe-$p", shifted(%{ $phase{$p} }));
    scope("recipe-$p/healthz", join("\n", @hlines) . "\n");
    my $old = s_client('tls1', $path);
    my $new = s_client('tls1_2', $path);
    my $hc  = s_client('tls1', "${path}healthz/");
    my $sun = httpdate($phase{$p}{sunset});
    if ($p eq 'report') {
        ok $old->{status} == 200 && hdr($old, 'Sunset') eq $sun && hdr($old, 'Deprecation') eq '',
            "recipe, before its deprecation date: TLS 1.0 served with Sunset only" or diag $old->{out};
    }
    elsif ($p eq 'deprecated') {
        ok $old->{status} == 200 && hdr($old, 'Sunset') eq $sun
            && hdr($old, 'Deprecation') eq '@' . $phase{$p}{deprecation}
            && links($old) =~ /<\Q$r_dep->[1]\E>; rel="deprecation"/,
            "recipe, deprecated: TLS 1.0 served with Sunset, Deprecation and the Link" or diag $old->{out};
    }
    elsif ($p eq 'hourly' || $p eq 'explicit') {
        ok $old->{status} == 426 && hdr($old, 'Upgrade-Required-Phase') eq 'brownout'
            && $old->{body} =~ /$quoted_re/,
            "recipe, inside its $p brownout: TLS 1.0 gets the brownout 426 with the README's sentence" or diag $old->{out};
    }
    else {
        ok $old->{status} == 426 && hdr($old, 'Upgrade-Required-Phase') !~ /brownout/,
            "recipe, after its sunset: TLS 1.0 gets the 426" or diag $old->{out};
    }
    ok $new->{status} == 200 && !grep({ header_lines($new->{head}, $_) } @SCHEDULE_HEADERS),
        "recipe ($p): TLS 1.2 served, none of the headers" or diag $new->{out};
    ok $hc->{status} == 200 && !grep({ header_lines($hc->{head}, $_) } @SCHEDULE_HEADERS),
        "recipe ($p): the exempt health check over TLS 1.0 is served, none of the headers" or diag $hc->{out};
}
