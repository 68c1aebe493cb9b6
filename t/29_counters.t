# Live counters (issue 10, spec/counters.md), on private servers this file
# starts, restarts and stops itself ("httpd -k"), since restarts are what
# is under test and the suite's own httpd must not be restarted:
#
#  - under prefork, worker and event (several children, one connection per
#    request from four clients at once, so that the access log shows more
#    than one %P): the Prometheus series equal exactly what was sent, per
#    line and outcome/phase/reason, also for 2 x 300 requests racing on
#    one line, which all get the same body bytes (threads claiming and
#    reading the kept body template); promtool and the Python client
#    parse the output, and a
#    line read from a file whose path holds " \ < & > comes back with its
#    path intact;
#  - mod_status ?auto keeps its "Key: value" shape, our lines are
#    UpgradeRequired*: integer with totals that are the sums, the HTML page
#    has the table; UpgradeRequireServerStatus off removes both, and the
#    directive is refused inside <VirtualHost>;
#  - graceful with the same configuration counts on (also a request an old
#    child was still reading); graceful with a changed one keeps the lines
#    that stayed (same vhost, file, sections and requirement: a line moved
#    down by a comment keeps its counts under its new file:line), starts
#    new and changed ones at 0 and drops removed ones; restart zeroes
#    everything;
#  - .htaccess rules count on their vhost's slot; the subrequest of mod_dir
#    and the ErrorDocument request of our 426 add nothing of their own; one
#    file Included twice gives "file:line" and "file:line#2".
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(capture capture_from httpd_check read_response);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use Digest::MD5 qw(md5_hex);
use List::Util qw(shuffle sum0);
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes ();

my @MPMS = qw(prefork worker event);
plan tests => 31 * @MPMS + 41 + 8;
Test::More->builder->failure_output(\*STDERR);

my $vars    = Apache::Test::vars();
my $httpd   = $vars->{httpd};
my $top     = $vars->{top_dir};
# under "make asan" the private servers load the sanitized build too, and
# their reports land in t/logs/sanitizer/ like the main server's
my $so      = $httpd =~ m{/asan-httpd$}
              ? "$top/t/asan-build/.libs/mod_upgrade_required.so"
              : "$top/.libs/mod_upgrade_required.so";
my $LIBEXEC = capture('apxs', '-q', 'LIBEXECDIR');
chomp $LIBEXEC;
# Apache::Test's own choice: the invoking user, nobody when that is root.
my ($USER, $GROUP) = ($vars->{user}, $vars->{group});
my $PYTHON = '/usr/bin/python3';    # Debian's, where t/deps installs the client
my $owner = $$;

# Under t/ (whose parents t/TEST checks are searchable) and world-readable:
# the children serve htdocs and read .htaccess as $USER.
umask 022;
my $dir = tempdir('tmp-counters-XXXXXX', DIR => "$top/t");
chmod 0755, $dir or die "chmod $dir: $!";

my @running;    # instances started and not yet seen stopped

# Stop what we started, also after a failure or die: a leftover httpd
# would hold its ports and its children after the run.
END {
    local $?;
    if ($$ == $owner) {
        stop_quietly($_) for @running;
        remove_tree($dir) if $dir && -d $dir;
    }
}
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { exit 1 };
# A reader that goes away (| head) must not kill us before END; a client
# whose server closed first gets EPIPE instead of dying.
$SIG{PIPE} = 'IGNORE';

sub spew {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh or die "$file: $!";
}

sub slurp {
    my $file = shift;
    open my $fh, '<', $file or return '';
    local $/;
    my $text = <$fh> // '';
    close $fh;
    return $text;
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Polls $code up to $secs seconds; true once it returned true.
sub wait_for {
    my ($secs, $code) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while (1) {
        return 1 if $code->();
        return 0 if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

# ---- fixtures shared by every server -------------------------------------

spew("$dir/mime.types", "text/html html\ntext/plain txt\n");
mkdir "$dir/htdocs" or die $!;
for my $sub (qw(rep ht htws dir guarded)) {
    mkdir "$dir/htdocs/$sub" or die $!;
}
spew("$dir/htdocs/free.txt", "free\n");
spew("$dir/htdocs/rep/ok.txt", "reported\n");
spew("$dir/htdocs/htws/x.txt", "htws\n");
spew("$dir/htdocs/dir/index.html", "dir-index-4d1f\n");
spew("$dir/htdocs/err.html", "err-page-7c2a\n");
spew("$dir/htdocs/guarded/err.html", "guarded-err-page-91b3\n");
spew("$dir/htdocs/ht/.htaccess", "UpgradeRequire TLS\n");
spew("$dir/htdocs/htws/.htaccess", "UpgradeRequire websocket\n");

# A rule read from a file whose path needs every escape of both formats:
# Prometheus label values (\ and ") and HTML (< & > ").
my $odd_dir = "$dir/od\"d\\dir<&>";
mkdir $odd_dir or die "$odd_dir: $!";
my $odd_conf = "$odd_dir/rules.conf";
spew($odd_conf, "<Location \"/odd\">\n    UpgradeRequire TLS\n</Location>\n");
my $odd_rule = "$odd_conf:2";
# httpd reads \" inside a quoted argument as "; a \ before d stays.
(my $odd_include = $odd_conf) =~ s/"/\\"/g;

# ---- servers ---------------------------------------------------------------

sub instance {
    my ($name, @ports) = @_;
    my $d = "$dir/$name";
    mkdir $d or die "$d: $!";
    return { name => $name, d => $d, conf => "$d/httpd.conf",
             pidfile => "$d/httpd.pid", errlog => "$d/error_log",
             port => $ports[0], ports => \@ports };
}

# The part every configuration shares; $o{status} loads mod_status.
sub base_conf {
    my ($in, $mpm, $sizing, %o) = @_;
    my @mods = (qw(authz_core mime dir alias log_config),
                $o{status} ? 'status' : ());
    # log_config is built into Debian's httpd, a module elsewhere
    my $load = join '', map {
        "<IfModule !${_}_module>\n"
        . "    LoadModule ${_}_module \"$LIBEXEC/mod_$_.so\"\n</IfModule>\n"
    } @mods;
    my $listen = join '', map { "Listen 127.0.0.1:$_\n" } @{ $in->{ports} };
    return <<"CONF";
ServerRoot "$in->{d}"
DefaultRuntimeDir "$in->{d}"
ServerName localhost:$in->{port}
${listen}PidFile "$in->{pidfile}"
ErrorLog "$in->{errlog}"
LogLevel warn
User $USER
Group $GROUP
LoadModule mpm_${mpm}_module "$LIBEXEC/mod_mpm_$mpm.so"
${load}LoadModule upgrade_required_module "$so"
$sizing
TypesConfig "$dir/mime.types"
KeepAlive Off
DocumentRoot "$dir/htdocs"
DirectoryIndex index.html
<Directory "$dir/htdocs">
    Require all granted
    AllowOverride None
</Directory>
LogFormat "%P %s %U" pids
CustomLog "$in->{d}/access_log" pids
CONF
}

# { section argument => line } of every UpgradeRequire line in $text,
# named by the <Location>/<Files> around it; a section's second line is
# "name#2".
sub rule_lines {
    my $text = shift;
    my (%line, %seen, $section);
    my $n = 0;
    for (split /\n/, $text) {
        $n++;
        $section = $1 if /^\s*<(?:Location|Files)\s+"([^"]+)">/;
        next unless /^\s*UpgradeRequire\s/ && defined $section;
        my $k = $seen{$section}++ ? "$section#$seen{$section}" : $section;
        $line{$k} = $n;
    }
    return \%line;
}

sub write_conf {
    my ($in, $text) = @_;
    spew($in->{conf}, $text);
    $in->{lines} = rule_lines($text);
}

# file:line label of the UpgradeRequire line in section $name
sub rule_of {
    my ($in, $name) = @_;
    my $l = $in->{lines}{$name} // die "no UpgradeRequire line in $name";
    return "$in->{conf}:$l";
}

sub ctl {
    my ($in, $cmd) = @_;
    my $out = capture($httpd, '-f', $in->{conf}, '-k', $cmd);
    return ($? >> 8, $out);
}

sub read_pid {
    my $in = shift;
    my ($pid) = slurp($in->{pidfile}) =~ /^(\d+)/;
    return $pid;
}

# A zombie is gone too: the parent daemonised, init reaps it.
sub alive {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    my $stat = slurp("/proc/$pid/stat");
    return $stat !~ /^\d+ \(.*\) Z/s;
}

# Every generation ends with this notice (logged at any LogLevel): the
# configuration is read and the new children are being made.
sub resumed {
    my $in = shift;
    my @n = slurp($in->{errlog}) =~ /resuming normal operations/g;
    return scalar @n;
}

sub log_tail {
    my $in = shift;
    my @l = split /\n/, slurp($in->{errlog});
    return join "\n", "$in->{errlog}:", @l > 15 ? @l[-15 .. -1] : @l;
}

sub start {
    my $in = shift;
    my ($rc, $out) = ctl($in, 'start');
    push @running, $in;
    my $up = $rc == 0 && wait_for(10, sub {
        alive(read_pid($in)) && resumed($in) >= 1
    });
    $in->{pid} = read_pid($in);
    ok $up, "$in->{name}: httpd -k start, up"
        or diag "exit $rc: $out\n", log_tail($in);
    return $up;
}

# -k graceful or -k restart, then wait for the next generation.
sub cycle {
    my ($in, $cmd) = @_;
    my $before = resumed($in);
    my ($rc, $out) = ctl($in, $cmd);
    my $up = $rc == 0 && wait_for(10, sub { resumed($in) > $before });
    ok $up && read_pid($in) == $in->{pid},
        "$in->{name}: -k $cmd, next generation up, same parent"
        or diag "exit $rc: $out\n", log_tail($in);
}

sub stop {
    my $in = shift;
    my ($rc, $out) = ctl($in, 'stop');
    my $gone = wait_for(10, sub { !alive($in->{pid}) });
    ok $rc == 0 && $gone, "$in->{name}: -k stop, gone"
        or diag "exit $rc: $out\n", log_tail($in);
    # still there (-k stop reads the configuration, which may be broken):
    # END signals it
    @running = grep { $_ != $in } @running if $gone;
}

# SIGTERM is -k stop without reading the configuration; the children get
# SIGKILL too if the parent does not end.
sub stop_quietly {
    my $in = shift;
    my $pid = $in->{pid} // read_pid($in);
    return unless alive($pid);
    my @kids = children_of($pid);
    kill 'TERM', $pid;
    return if wait_for(10, sub { !alive($pid) });
    kill 'KILL', $pid, @kids;
}

sub children_of {
    my $ppid = shift;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = slurp($stat);
        push @kids, $1 if $s =~ /^(\d+) \(.*\) \S (\d+) /s && $2 == $ppid;
    }
    return @kids;
}

# ---- clients ---------------------------------------------------------------

sub get_req {
    my ($path, $host) = @_;
    return "GET $path HTTP/1.1\r\nHost: " . ($host // 'localhost')
        . "\r\nConnection: close\r\n\r\n";
}

# A valid RFC 6455 4.1 opening handshake.
sub ws_req {
    my ($path, $host) = @_;
    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    return "GET $path HTTP/1.1\r\nHost: " . ($host // 'localhost')
        . "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

# (status, head, body) of $request on a connection of its own.
sub exchange {
    my ($port, $request) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 10)
        or return ('connect failed', '', '');
    syswrite $s, $request;
    my $method = $request =~ /\A(\S+)/ ? $1 : 'GET';
    my @r = eval { read_response($s, timeout => 10, method => $method) };
    close $s;
    return @r ? @r : ('no response', '', '');
}

# Runs $clients forked clients at once; each sends every [label, port,
# request] of @$reqs, in an order of its own, on a connection per request
# (KeepAlive Off: every request is a new accept, so they spread over the
# children).  Returns { "label status" => count } over all clients, and
# { label => { md5 of a 426 body => count } }: a label is one request, so
# one body (the later ones come from a kept template where a process kept
# one, under threads too).
sub blast {
    my ($clients, $reqs) = @_;
    my @kids;
    for my $c (1 .. $clients) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        unless ($pid) {
            close $r;
            srand($c * 7919 + $$);
            for my $q (shuffle @$reqs) {
                my ($status, undef, $body) = exchange($q->[1], $q->[2]);
                my $md5 = $status eq '426' ? md5_hex($body // '') : '-';
                syswrite $w, "$q->[0] $status $md5\n";
            }
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [ $pid, $r ];
    }
    my (%tally, %bodies);
    for my $k (@kids) {
        my $r = $k->[1];
        while (my $l = <$r>) {
            chomp $l;
            my ($label, $status, $md5) = split / /, $l;
            $tally{"$label $status"}++;
            $bodies{$label}{$md5}++ if $md5 ne '-';
        }
        close $r;
        waitpid $k->[0], 0;
    }
    return wantarray ? (\%tally, \%bodies) : \%tally;
}

# ---- the two formats -------------------------------------------------------

sub series { join "\t", @_ }    # vhost, rule, requirement, outcome, phase, reason

sub prom_escape {
    my $v = shift;
    $v =~ s/\\/\\\\/g;
    $v =~ s/"/\\"/g;
    $v =~ s/\n/\\n/g;
    return $v;
}

# A strict reading of text format 0.0.4 for our two families: (series =>
# value, the upgrade_required_rules value, [problems]).  Any line it does
# not understand is a problem, so are unknown names and label sets.
sub parse_metrics {
    my $text = shift;
    my (%s, $rules, @bad);
    my %unesc = ('\\' => '\\', '"' => '"', n => "\n");
    for my $l (split /\n/, $text) {
        next if $l =~ /^# (?:HELP|TYPE) upgrade_required_(?:requests_total|rules) /;
        if ($l =~ /^upgrade_required_rules (\d+)$/) {
            $rules = $1;
            next;
        }
        my ($labels, $v) = $l =~ /^upgrade_required_requests_total\{(.*)\} (\d+)$/
            or do { push @bad, $l; next };
        my %lab;
        while ($labels =~ /\G([a-z]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|\z)/gc) {
            my ($k, $raw, $more) = ($1, $2, $3);
            $raw =~ s/\\([\\"n])/$unesc{$1}/g;
            $lab{$k} = $raw;
            last unless $more;
        }
        my @k = qw(vhost rule requirement outcome phase reason);
        if ((pos($labels) // 0) != length $labels
            || join(',', sort keys %lab) ne join(',', sort @k)) {
            push @bad, $l;
            next;
        }
        my $key = series(@lab{@k});
        push @bad, "duplicate: $l" if exists $s{$key};
        $s{$key} = $v;
    }
    return (\%s, $rules, \@bad);
}

# The series as one string, numbers compared as numbers.
sub flat {
    my $h = shift;
    return join "\n", map { "$_=" . ($h->{$_} + 0) } sort keys %$h;
}

# $want: series => count; polls a little, since a counter may move after
# the response has reached the client (a log-phase hook).
sub metrics_are {
    my ($port, $want, $rules, $label) = @_;
    my ($got, $n, $bad, $body);
    wait_for(3, sub {
        (undef, undef, $body) = exchange($port, get_req('/metrics'));
        ($got, $n, $bad) = parse_metrics($body);
        return !@$bad && flat($got) eq flat($want);
    });
    is_deeply $got, $want, "$label: the series, exactly" or diag $body;
    ok !@$bad && defined $n && $n == $rules,
        "$label: well-formed, upgrade_required_rules $rules"
        or diag explain { rules => $n, bad => $bad };
    return $body;
}

# Our lines of ?auto as { key => value }.
sub auto_ours {
    my $auto = shift;
    return { map { /^(UpgradeRequired[^:]*): (.*)$/ ? ($1 => $2) : () }
             split /\n/, $auto };
}

sub html_unescape {
    my $t = shift;
    $t =~ s/<[^>]*>//g;
    my %e = (lt => '<', gt => '>', quot => '"', amp => '&', '#39' => "'",
             '#x27' => "'", '#34' => '"');
    $t =~ s/&(lt|gt|quot|amp|#39|#x27|#34);/$e{$1}/g;
    $t =~ s/^\s+|\s+$//g;
    return $t;
}

# Rows of the HTML tables as lists of cell texts.
sub html_rows {
    my $html = shift;
    my @rows;
    for my $tr (split /<tr\b[^>]*>/i, $html) {
        my @cells = map { html_unescape($_) }
            $tr =~ m{<t[dh]\b[^>]*>(.*?)(?=</?t[dhr]\b|</table|\z)}gis;
        push @rows, \@cells if @cells;
    }
    return @rows;
}

# Runs @cmd with $file as stdin: (exit status, stdout+stderr).
sub run_stdin {
    my $text = capture_from(@_);
    return ($? >> 8, $text);
}

my $PY_PARSE = <<'PY';
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append([fam.type, s.name, s.labels, s.value])
print(json.dumps(out))
PY

# ---- 1-3: one server per MPM ----------------------------------------------

# per client; with four clients at once
my $CLIENTS = 4;
my @MIX = (
    [ tls      => 6, 426, sub { get_req('/tls/a') } ],
    [ ws_ok    => 5, 404, sub { ws_req('/ws/chat') } ],
    [ ws_plain => 3, 426, sub { get_req('/ws/chat') } ],
    [ rep      => 4, 200, sub { get_req('/rep/ok.txt') } ],
    [ redir    => 2, 308, sub { get_req('/redir/x') } ],
    [ odd      => 2, 426, sub { get_req('/odd/x') } ],
    [ free     => 2, 200, sub { get_req('/free.txt') } ],
);
my %MIX_N = map { $_->[0] => $_->[1] * $CLIENTS } @MIX;
my $RACE = 300;    # requests of each of the two racing clients

for my $mpm (@MPMS) {
    my $in = instance($mpm, free_port());
    my $port = $in->{port};
    my $sizing = $mpm eq 'prefork'
        ? "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\n"
          . "ServerLimit 16\nMaxRequestWorkers 16"
        : "StartServers 2\nServerLimit 4\nThreadLimit 2\nThreadsPerChild 2\n"
          . "MinSpareThreads 2\nMaxSpareThreads 8\nMaxRequestWorkers 8";
    my $conf = base_conf($in, $mpm, $sizing, status => 1) . <<"CONF";
<Location "/tls">
    UpgradeRequire TLS
</Location>
<Location "/ws">
    UpgradeRequire websocket
</Location>
<Location "/rep">
    UpgradeRequire TLS
    UpgradeRequireMode report
</Location>
<Location "/race">
    UpgradeRequire TLS
</Location>
<Location "/redir">
    UpgradeRequire TLS
    UpgradeRequireTLSRedirect on
    UpgradeRequireTLSURL https://tls.example
</Location>
Include "$odd_include"
<Location "/metrics">
    SetHandler upgrade-required-metrics
</Location>
<Location "/server-status">
    SetHandler server-status
</Location>
CONF
    write_conf($in, $conf);
    start($in);

    my @reqs;
    for my $m (@MIX) {
        push @reqs, map { [ $m->[0], $port, $m->[3]->() ] } 1 .. $m->[1];
    }
    my $tally = blast($CLIENTS, \@reqs);
    is_deeply $tally, { map { ("$_->[0] $_->[2]" => $MIX_N{$_->[0]}) } @MIX },
        "$mpm: every request got its answer (426, a passed handshake 404, "
        . "report 200, redirect 308)";
    my $bodies;
    ($tally, $bodies) = blast(2, [ map { [ race => $port, get_req('/race/x') ] } 1 .. $RACE ]);
    is_deeply $tally, { 'race 426' => 2 * $RACE },
        "$mpm: 2 x $RACE racing requests, all 426";
    is scalar(keys %{ $bodies->{race} // {} }), 1,
        "$mpm: all $RACE x 2 racing 426s have the same body bytes";

    # The access log is the server's own count of what arrived, and shows
    # that the children shared the work.
    my %log;
    wait_for(5, sub {
        %log = ();
        for (split /\n/, slurp("$in->{d}/access_log")) {
            my ($pid, $st, $uri) = split / /;
            $log{pids}{$pid}++ unless $uri =~ m{^/(?:metrics|server-status)};
            $log{"$uri $st"}++;
        }
        return ($log{'/race/x 426'} // 0) == 2 * $RACE;
    });
    ok keys %{ $log{pids} } >= 2, "$mpm: access log: "
        . scalar(keys %{ $log{pids} }) . ' children (%P) served the mix';
    is_deeply [ map { $log{$_} // 0 } '/tls/a 426', '/ws/chat 404',
                '/ws/chat 426', '/rep/ok.txt 200', '/redir/x 308', '/odd/x 426',
                '/race/x 426' ],
        [ @MIX_N{qw(tls ws_ok ws_plain rep redir odd)}, 2 * $RACE ],
        "$mpm: access log: each request logged once";

    my $vh = "localhost:$port";
    my %want = (
        series($vh, rule_of($in, '/tls'), 'TLS', qw(passed none none)) => 0,
        series($vh, rule_of($in, '/tls'), 'TLS', qw(refused enforced plaintext))
            => $MIX_N{tls},
        series($vh, rule_of($in, '/ws'), 'websocket', qw(passed none none))
            => $MIX_N{ws_ok},
        series($vh, rule_of($in, '/ws'), 'websocket', qw(refused enforced no_upgrade))
            => $MIX_N{ws_plain},
        series($vh, rule_of($in, '/rep'), 'TLS', qw(passed none none)) => 0,
        series($vh, rule_of($in, '/rep'), 'TLS', qw(served report plaintext))
            => $MIX_N{rep},
        series($vh, rule_of($in, '/race'), 'TLS', qw(passed none none)) => 0,
        series($vh, rule_of($in, '/race'), 'TLS', qw(refused enforced plaintext))
            => 2 * $RACE,
        series($vh, rule_of($in, '/redir'), 'TLS', qw(passed none none)) => 0,
        series($vh, rule_of($in, '/redir'), 'TLS', qw(redirected enforced plaintext))
            => $MIX_N{redir},
        series($vh, $odd_rule, 'TLS', qw(passed none none)) => 0,
        series($vh, $odd_rule, 'TLS', qw(refused enforced plaintext))
            => $MIX_N{odd},
    );
    # six lines and the main server's .htaccess slot
    my $body = metrics_are($port, \%want, 7, $mpm);

    my ($st, $head) = exchange($port, get_req('/metrics'));
    like $head, qr{^Content-Type: text/plain; version=0\.0\.4; charset=utf-8\r$}mi,
        "$mpm: /metrics: text format 0.0.4 content type";
    like $body, qr{^upgrade_required_requests_total\{vhost="\Q$vh\E",rule="\Q${\ prom_escape($odd_rule)}\E",}m,
        "$mpm: the odd path escaped (\\\\ and \\\") in the label";

    # ---- 2: real parsers ----
    spew("$in->{d}/metrics.txt", $body);
    my ($rc, $out) = run_stdin("$in->{d}/metrics.txt", 'promtool', 'check', 'metrics');
    ok $rc == 0 && $out eq '', "$mpm: promtool check metrics: no parse error, no lint"
        or diag "exit $rc: $out";
    ($rc, $out) = run_stdin("$in->{d}/metrics.txt", $PYTHON, '-c', $PY_PARSE);
    my $py = $rc == 0 ? eval { JSON::PP->new->decode($out) } : undef;
    ok $py, "$mpm: $PYTHON prometheus_client parses it" or diag "exit $rc: $out";
    $py ||= [];
    my %py_s = map {
        my ($type, $name, $l, $v) = @$_;
        $name eq 'upgrade_required_requests_total' && $type eq 'counter'
            ? (series(@$l{qw(vhost rule requirement outcome phase reason)}) => $v)
            : ();
    } @$py;
    is_deeply \%py_s, \%want, "$mpm: python: the same counter series";
    ok((grep { $_->[0] eq 'gauge' && $_->[1] eq 'upgrade_required_rules'
               && $_->[3] == 7 } @$py),
       "$mpm: python: the rules gauge");
    ok((grep { $_->[2]{rule} && $_->[2]{rule} eq $odd_rule } @$py),
       "$mpm: python: the odd path comes back unescaped");

    # ---- 3: mod_status ----
    my $auto;
    ($st, undef, $auto) = exchange($port, get_req('/server-status?auto'));
    is $st, 200, "$mpm: ?auto answers";
    my @lines = split /\n/, $auto;
    # mod_status's first line is the bare host name, some of its own keys
    # have a space ("Server Built", "Total Accesses"), and in the first
    # second "ServerUptime:" has no value: its lines are held to "Key:".
    my @shape = grep { !/^[A-Za-z][\w\[\] ]*:(?: \S.*)?$/ } @lines[1 .. $#lines];
    ok @lines > 10 && $lines[0] !~ /:/ && !@shape,
        "$mpm: ?auto: the host, then every line 'Key: value'"
        or diag explain \@shape;
    my @ours = grep { /UpgradeRequired/ } @lines;
    my @odd = grep { !/^UpgradeRequired[\w\[\]]*: \d+$/ } @ours;
    ok @ours && !@odd, "$mpm: ?auto: our lines are UpgradeRequired*: integer"
        or diag explain \@odd;
    ok !(grep { /ProxyBalancer\[/ } @lines), "$mpm: ?auto: no ProxyBalancer[ line";
    my $ours = auto_ours($auto);
    my %rule_auto = (
        0 => [ 0, $MIX_N{tls}, 0, 0 ],
        1 => [ $MIX_N{ws_ok}, $MIX_N{ws_plain}, 0, 0 ],
        2 => [ 0, 0, 0, $MIX_N{rep} ],
        3 => [ 0, 2 * $RACE, 0, 0 ],
        4 => [ 0, 0, $MIX_N{redir}, 0 ],
        5 => [ 0, $MIX_N{odd}, 0, 0 ],
    );
    my %want_auto = (
        UpgradeRequiredRules => 7,
        UpgradeRequiredPassed => $MIX_N{ws_ok},
        UpgradeRequiredRefused => $MIX_N{tls} + $MIX_N{ws_plain} + $MIX_N{odd}
                                  + 2 * $RACE,
        UpgradeRequiredRedirected => $MIX_N{redir},
        UpgradeRequiredServed => $MIX_N{rep},
    );
    my @kinds = qw(Passed Refused Redirected Served);
    for my $n (keys %rule_auto) {
        @want_auto{ map { "UpgradeRequiredRule[$n]$_" } @kinds } = @{ $rule_auto{$n} };
    }
    is_deeply $ours, \%want_auto,
        "$mpm: ?auto: totals and the nonzero slots (config order), exactly";
    my @sum_bad = grep {
        my $k = $_;
        ($ours->{"UpgradeRequired$k"} // -1)
            != sum0(map { $ours->{$_} }
                    grep { /^UpgradeRequiredRule\[\d+\]\Q$k\E$/ } keys %$ours);
    } @kinds;
    ok !@sum_bad, "$mpm: ?auto: each total is the sum of its slots"
        or diag "not summing: @sum_bad";

    my $html;
    ($st, undef, $html) = exchange($port, get_req('/server-status'));
    like $html, qr{<h\d[^>]*>[^<]*UpgradeRequired}i, "$mpm: HTML: the UpgradeRequired heading";
    my @rows = html_rows($html);
    my ($tls_row) = grep { @$_ >= 3 && $_->[2] eq rule_of($in, '/tls') } @rows;
    is_deeply $tls_row, [ 0, $vh, rule_of($in, '/tls'), 'TLS', 0, $MIX_N{tls}, 0, 0 ],
        "$mpm: HTML: slot, vhost, rule, requirement, passed, refused, redirected, served";
    my ($odd_row) = grep { @$_ >= 3 && $_->[2] eq $odd_rule } @rows;
    ok $odd_row && $odd_row->[0] eq '5', "$mpm: HTML: the odd path, unescaped, is slot 5";
    unlike $html, qr/<&>/, "$mpm: HTML: the path's < & > are escaped";

    # ---- off, by a graceful restart: also a changed configuration whose
    # lines all stayed where they were ----
    write_conf($in, "$conf\nUpgradeRequireServerStatus off\n");
    cycle($in, 'graceful');
    ($st, undef, $auto) = exchange($port, get_req('/server-status?auto'));
    ok $st == 200 && $auto =~ /^ServerMPM: /m && $auto !~ /UpgradeRequired/,
        "$mpm: UpgradeRequireServerStatus off: ?auto without our lines"
        or diag $auto;
    ($st, undef, $html) = exchange($port, get_req('/server-status'));
    ok $st == 200 && $html !~ /UpgradeRequired/,
        "$mpm: UpgradeRequireServerStatus off: HTML without our section";
    metrics_are($port, \%want, 7, "$mpm, after a graceful restart that only "
        . "added UpgradeRequireServerStatus off");
    stop($in);
}

# ---- UpgradeRequireServerStatus: main server only ----------------------------

my ($rc, $out) = httpd_check("UpgradeRequireServerStatus on\nUpgradeRequireServerStatus off");
ok $rc == 0 && $out =~ /Syntax OK/, 'UpgradeRequireServerStatus on|off in the main server'
    or diag $out;
($rc, $out) = httpd_check("<VirtualHost *:80>\nUpgradeRequireServerStatus on\n</VirtualHost>");
ok $rc != 0 && $out =~ /^AH00526: Syntax error on line 10 of \S+:\n[^\n]*UpgradeRequireServerStatus/m,
    'inside <VirtualHost>: refused, the message names the directive'
    or diag $out;

# ---- 4-6: lifetime, .htaccess, subrequests, ErrorDocument (event) --------------
# No mod_status here: the handler must not need it.

my ($p1, $p2) = (free_port(), free_port());
$p2 = free_port() while $p2 == $p1;
my $life = instance('life', $p1, $p2);
my ($M, $ONE, $TWO) = ("localhost:$p1", "one.example:$p2", "two.example:$p2");
spew("$life->{d}/inc.conf", "UpgradeRequire TLS\n");

# Variant B of the middle part: /e's line keeps its place with another
# requirement, a comment moves /b's line down by one, /c's block is gone
# and /d's is new; A's trailing comment keeps everything below in place.
sub life_conf {
    my $b = shift;
    my $middle = !$b ? <<'A' : <<'B';
<Location "/e">
    UpgradeRequire TLS
</Location>
<Location "/b">
    UpgradeRequire TLS
</Location>
<Location "/c">
    UpgradeRequire TLS
</Location>
# nothing
A
<Location "/e">
    UpgradeRequire websocket
</Location>
# this comment moves the /b line: the same rule on another line
<Location "/b">
    UpgradeRequire TLS
</Location>
<Location "/d">
    UpgradeRequire TLS
</Location>
B
    return base_conf($life, 'event',
        "StartServers 2\nServerLimit 4\nThreadsPerChild 4\n"
        . "MinSpareThreads 2\nMaxSpareThreads 16\nMaxRequestWorkers 16")
        . <<"CONF1" . $middle . <<"CONF2";
<Directory "$dir/htdocs/ht">
    AllowOverride AuthConfig
</Directory>
<Directory "$dir/htdocs/htws">
    AllowOverride AuthConfig
</Directory>
<Directory "$dir/htdocs/dir">
    <Files "index.html">
        UpgradeRequire TLS
    </Files>
</Directory>
<Location "/edtls">
    UpgradeRequire TLS
    ErrorDocument 426 /err.html
</Location>
<Location "/ed2">
    UpgradeRequire TLS
    ErrorDocument 426 /guarded/err.html
</Location>
<Location "/guarded">
    UpgradeRequire TLS
</Location>
<Location "/a">
    UpgradeRequire TLS
</Location>
<Location "/two">
    UpgradeRequire websocket
    UpgradeRequire HTTP/1.1
</Location>
CONF1
<Location "/i1">
    Include "$life->{d}/inc.conf"
</Location>
<Location "/i2">
    Include "$life->{d}/inc.conf"
</Location>
<Location "/metrics">
    SetHandler upgrade-required-metrics
</Location>
<VirtualHost 127.0.0.1:$p2>
    ServerName one.example:$p2
</VirtualHost>
<VirtualHost 127.0.0.1:$p2>
    ServerName two.example:$p2
    <Location "/v2">
        UpgradeRequire TLS
    </Location>
</VirtualHost>
CONF2
}

my %want;
my $inc = "$life->{d}/inc.conf:1";
# [vhost, rule, requirement] of every line of the configuration in force
sub life_lines {
    my $in = shift;
    return (
        (map { [ $M, rule_of($in, $_), 'TLS' ] }
            'index.html', qw(/edtls /ed2 /guarded /a)),
        [ $M, rule_of($in, '/two'), 'websocket' ],
        [ $M, rule_of($in, '/two#2'), 'HTTP/1.1' ],
        [ $M, rule_of($in, '/e'), $in->{b} ? 'websocket' : 'TLS' ],
        (map { [ $M, rule_of($in, $_), 'TLS' ] } $in->{b} ? qw(/b /d) : qw(/b /c)),
        [ $M, $inc, 'TLS' ], [ $M, "$inc#2", 'TLS' ],
        [ $TWO, rule_of($in, '/v2'), 'TLS' ],
    );
}
sub zero_lines { $want{ series(@$_, qw(passed none none)) } //= 0 for life_lines(shift) }
sub refused { $want{ series(@_, qw(refused enforced plaintext)) } += 1 }
my $LIFE_RULES = 13 + 3;    # the lines, and .htaccess slots of 3 servers

write_conf($life, life_conf(0));
start($life);
zero_lines($life);
metrics_are($p1, \%want, $LIFE_RULES, 'life: fresh, every line at 0');

my ($st, $head, $body) = exchange($p1, "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
ok $st == 200 && $head =~ m{^Content-Type: text/plain; version=0\.0\.4; charset=utf-8\r$}mi,
    'HEAD /metrics: 200, the same content type' or diag $head;
($st) = exchange($p1, "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
is $st, 405, 'POST /metrics: 405';

# ---- 5: .htaccess, and Include'd twice ----
my @reqs = (
    (map { [ a => $p1, get_req('/a/x') ] } 1 .. 3),
    (map { [ e => $p1, get_req('/e/x') ] } 1 .. 2),
    (map { [ b => $p1, get_req('/b/x') ] } 1 .. 4),
    (map { [ c => $p1, get_req('/c/x') ] } 1 .. 5),
    (map { [ ht_main => $p1, get_req('/ht/x.txt') ] } 1 .. 2),
    [ htws_main => $p1, ws_req('/htws/x.txt') ],
    (map { [ ht_one => $p2, get_req('/ht/x.txt', 'one.example') ] } 1 .. 3),
    (map { [ ht_two => $p2, get_req('/ht/x.txt', 'two.example') ] } 1 .. 4),
    (map { [ v2 => $p2, get_req('/v2/x', 'two.example') ] } 1 .. 2),
    [ i1 => $p1, get_req('/i1/x') ],
    (map { [ i2 => $p1, get_req('/i2/x') ] } 1 .. 2),
);
my $tally = blast(1, \@reqs);
is_deeply $tally, { 'a 426' => 3, 'e 426' => 2, 'b 426' => 4, 'c 426' => 5,
                    'ht_main 426' => 2, 'htws_main 200' => 1, 'ht_one 426' => 3,
                    'ht_two 426' => 4, 'v2 426' => 2, 'i1 426' => 1, 'i2 426' => 2 },
    'life: .htaccess, vhost and Include requests answered';
refused($M, rule_of($life, $_), 'TLS') for (('/a') x 3, ('/e') x 2, ('/b') x 4, ('/c') x 5);
refused($M, '.htaccess', '') for 1 .. 2;
$want{ series($M, '.htaccess', '', qw(passed none none)) } = 1;
refused($ONE, '.htaccess', '') for 1 .. 3;
refused($TWO, '.htaccess', '') for 1 .. 4;
refused($TWO, rule_of($life, '/v2'), 'TLS') for 1 .. 2;
refused($M, $inc, 'TLS');
refused($M, "$inc#2", 'TLS') for 1 .. 2;
metrics_are($p1, \%want, $LIFE_RULES,
    'life: per line; .htaccess per vhost; one file Included twice is #2');

# ---- a scope with two lines: both pass, or exactly one counts ----
$tally = blast(1, [ (map { [ ws => $p1, ws_req('/two/x') ] } 1 .. 2),
                    [ plain => $p1, get_req('/two/x') ],
                    [ http10 => $p1, "GET /two/x HTTP/1.0\r\n\r\n" ] ]);
is_deeply $tally, { 'ws 404' => 2, 'plain 426' => 1, 'http10 426' => 1 },
    '/two (websocket; HTTP/1.1): two handshakes pass, a GET and an HTTP/1.0 GET refused';
$want{ series($M, rule_of($life, $_->[0]), $_->[1], qw(passed none none)) } += 2
    for [ '/two', 'websocket' ], [ '/two#2', 'HTTP/1.1' ];
$want{ series($M, rule_of($life, '/two'), 'websocket', qw(refused enforced no_upgrade)) } += 2;
metrics_are($p1, \%want, $LIFE_RULES, 'a pass counts on both lines, a refusal only '
    . 'on the first unmet one (HTTP/1.0 fails both)');

# ---- 6: subrequests and ErrorDocument ----
$tally = blast(1, [ map { [ dir => $p1, get_req('/dir/') ] } 1 .. 3 ]);
is_deeply $tally, { 'dir 426' => 3 }, 'GET /dir/ (index.html refused in the subrequest): 426';
refused($M, rule_of($life, 'index.html'), 'TLS') for 1 .. 3;
metrics_are($p1, \%want, $LIFE_RULES, 'GET /dir/ x 3: three refusals, on the <Files> line');
$tally = blast(1, [ map { [ idx => $p1, get_req('/dir/index.html') ] } 1 .. 2 ]);
is_deeply $tally, { 'idx 426' => 2 }, 'GET /dir/index.html: 426';
refused($M, rule_of($life, 'index.html'), 'TLS') for 1 .. 2;
($st, undef, $body) = exchange($p1, get_req('/edtls/x'));
ok $st == 426 && $body =~ /err-page-7c2a/, 'ErrorDocument 426 /err.html: 426 with the page';
refused($M, rule_of($life, '/edtls'), 'TLS');
($st, undef, $body) = exchange($p1, get_req('/ed2/x'));
ok $st == 426 && $body =~ /guarded-err-page-91b3/,
    'ErrorDocument 426 inside another UpgradeRequire TLS area: 426 with the page';
refused($M, rule_of($life, '/ed2'), 'TLS');
metrics_are($p1, \%want, $LIFE_RULES,
    'the error page requests count nowhere, the refusals once');

# ---- 4: graceful, unchanged: counting goes on, also in an old child ----
# The request is accepted before the restart and finished after it, so an
# old child decides it; the access log's %P shows whose it was.
sub pids_of {
    my ($in, $uri) = @_;
    my %p;
    for (split /\n/, slurp("$in->{d}/access_log")) {
        my ($pid, undef, $u) = split / /;
        $p{$pid} = 1 if !defined $uri || $u eq $uri;
    }
    return \%p;
}
my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $p1, Timeout => 10);
ok $slow && syswrite($slow, "GET /a/inflight HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"),
    'a request half sent before the graceful restart';
# a later connection answered: the earlier one was accepted (FIFO backlog)
($st) = exchange($p1, get_req('/free.txt'));
my $old_pids = pids_of($life);
cycle($life, 'graceful');
syswrite $slow, "\r\n" if $slow;
($st) = $slow ? eval { read_response($slow, timeout => 10) } : ();
close $slow if $slow;
my $inflight = {};
wait_for(5, sub { %{ $inflight = pids_of($life, '/a/inflight') } });
ok $st && $st == 426 && keys %$inflight == 1
    && (grep { $old_pids->{$_} } keys %$inflight),
    'an old child (a pid of the old generation) answers it after the restart: 426'
    or diag explain { status => $st, old => $old_pids, inflight => $inflight };
refused($M, rule_of($life, '/a'), 'TLS');
($st) = exchange($p1, get_req('/a/x'));
is $st, 426, 'a new child refuses /a/x';
refused($M, rule_of($life, '/a'), 'TLS');
metrics_are($p1, \%want, $LIFE_RULES,
    'graceful, same configuration: counts before + after, the old child\'s too');

# ---- 4: graceful, changed ----
my %old = %want;
my $old_b = rule_of($life, '/b');
$life->{b} = 1;
write_conf($life, life_conf(1));
cycle($life, 'graceful');
%want = ();
for my $l (life_lines($life)) {
    # a line that stayed (vhost, file:line, requirement) keeps its series
    my $p = quotemeta series(@$l) . "\t";
    $want{$_} = $old{$_} for grep { /^$p/ } keys %old;
}
# /b's line moved: same vhost, file, section and requirement, so its
# counts go on under the new file:line
my $new_b = rule_of($life, '/b');
my ($from, $to) = ("$M\t$old_b\tTLS\t", "$M\t$new_b\tTLS\t");
for my $k (grep { index($_, $from) == 0 } keys %old) {
    $want{ $to . substr($k, length $from) } = $old{$k};
}
$want{$_} = $old{$_} for grep { /\t\.htaccess\t/ } keys %old;
zero_lines($life);
ok $life->{lines}{'/b'} != rule_lines(life_conf(0))->{'/b'}
    && $life->{lines}{'/e'} == rule_lines(life_conf(0))->{'/e'},
    'variant B: /b moved, /e in place';
metrics_are($p1, \%want, $LIFE_RULES, 'graceful, changed: stayed and moved lines and '
    . '.htaccess slots keep counts; new and changed lines at 0; removed gone');
$tally = blast(1, [ [ b => $p1, get_req('/b/x') ], [ e => $p1, ws_req('/e/x') ],
                    [ d => $p1, get_req('/d/x') ], [ ht => $p1, get_req('/ht/x.txt') ],
                    [ a => $p1, get_req('/a/x') ] ]);
is_deeply $tally, { 'b 426' => 1, 'e 404' => 1, 'd 426' => 1, 'ht 426' => 1, 'a 426' => 1 },
    'after it: /b, /d, .htaccess refuse, /e now passes a handshake';
refused($M, rule_of($life, $_), 'TLS') for qw(/b /d /a);
$want{ series($M, rule_of($life, '/e'), 'websocket', qw(passed none none)) }++;
refused($M, '.htaccess', '');
metrics_are($p1, \%want, $LIFE_RULES, 'and they count on the new and kept slots');

# ---- 4: restart: everything back to 0 ----
cycle($life, 'restart');
%want = ();
zero_lines($life);
metrics_are($p1, \%want, $LIFE_RULES, '-k restart: every counter at 0');
$tally = blast(1, [ [ main => $p1, get_req('/ht/x.txt') ],
                    [ one => $p2, get_req('/ht/x.txt', 'one.example') ] ]);
is_deeply $tally, { 'main 426' => 1, 'one 426' => 1 }, 'after it, two .htaccess refusals';
refused($M, '.htaccess', '');
refused($ONE, '.htaccess', '');
metrics_are($p1, \%want, $LIFE_RULES, 'counts from 1 again');
stop($life);

# ---- 7: the README's Monitoring section, as it is written ----
# Its Prometheus files pass promtool; its sample configuration, with the
# port and the paths made local, answers the requests the text describes
# with exactly the sample output and the ?auto lines it shows.
my ($mon) = slurp("$top/README.md") =~ /^## Monitoring\n(.*?)^## /ms;
my ($vconf)  = $mon =~ /^```apache\n(<VirtualHost \*:80>\n.*?)^```$/ms;
my ($sample) = $mon =~ /^```\n(# HELP upgrade_required_requests_total.*?)^```$/ms;
my ($auto)   = $mon =~ /^```\n(UpgradeRequiredRules: .*?)^```$/ms;
my ($scrape) = $mon =~ /^```yaml\n(# prometheus\.yml\n.*?)^```$/ms;
my ($alerts) = $mon =~ /^```yaml\n(# upgrade-required\.rules\.yml\n.*?)^```$/ms;
ok defined $vconf && defined $sample && defined $auto && defined $scrape
    && defined $alerts, 'README Monitoring: configuration, samples and Prometheus files found';
spew("$dir/prometheus.yml", $scrape // '');
spew("$dir/upgrade-required.rules.yml", $alerts // '');
my ($prc, $pout) = run_stdin('/dev/null', 'promtool', 'check', 'config', "$dir/prometheus.yml");
ok $prc == 0 && $pout =~ /SUCCESS/, 'README: promtool check config accepts the scrape configuration'
    or diag $pout;
($prc, $pout) = run_stdin('/dev/null', 'promtool', 'check', 'rules', "$dir/upgrade-required.rules.yml");
ok $prc == 0 && $pout =~ /SUCCESS: 1 rules found/, 'README: promtool check rules accepts the alert'
    or diag $pout;

my $p3 = free_port();
$p3 = free_port() while $p3 == $p1 || $p3 == $p2;
my $rd = instance('readme', $p3);
my $html = "$rd->{d}/html";
mkdir $_ or die "$_: $!" for $html, "$html/api", "$html/shop", "$rd->{d}/sites-enabled";
spew("$html/api/v1", "api\n");
spew("$html/shop/cart", "cart\n");
spew("$html/shop/.htaccess", "UpgradeRequire TLS\n");
(my $site = $vconf // '') =~ s/\*:80>/*:$p3>/;
$site =~ s{/var/www/html}{$html}g;
my $site_file = "$rd->{d}/sites-enabled/www.example.org.conf";
spew($site_file, $site);
spew($rd->{conf}, base_conf($rd, 'event', "StartServers 1\nServerLimit 1\nThreadsPerChild 8\n",
                            status => 1)
    # Debian's main DocumentRoot, which the README's vhost inherits
    . qq{DocumentRoot "$html"\n<Directory "$html">\n    Require all granted\n</Directory>\n}
    . qq{<Location "/upgrade-required-metrics">\n    SetHandler upgrade-required-metrics\n</Location>\n}
    . qq{<Location "/server-status">\n    SetHandler server-status\n</Location>\n}
    . qq{Include "$site_file"\n});
start($rd);
my $W = 'www.example.org';
my $old_ws = ws_req('/chat', $W) =~ s/Sec-WebSocket-Version: 13/Sec-WebSocket-Version: 8/r;
my $t = blast(1, [ (map { [ plain => $p3, get_req('/chat', $W) ] } 1 .. 3),
                   (map { [ ws => $p3, ws_req('/chat', $W) ] } 1 .. 7),
                   [ ws8 => $p3, $old_ws ],
                   (map { [ api => $p3, get_req('/api/v1', $W) ] } 1 .. 2),
                   [ shop => $p3, get_req('/shop/cart', $W) ] ]);
is_deeply $t, { 'plain 426' => 3, 'ws 404' => 7, 'ws8 426' => 1, 'api 200' => 2, 'shop 426' => 1 },
    'README sample: 3 plain GETs and 8 handshakes to /chat, 2 to /api, one under .htaccess';
(my $want_text = $sample // '') =~ s{/etc/apache2/sites-enabled/www\.example\.org\.conf}{$site_file}g;
$want_text =~ s/www\.example\.org:80/www.example.org:$p3/g;
my $got_text = '';
wait_for(3, sub {
    (undef, undef, $got_text) = exchange($p3, get_req('/upgrade-required-metrics'));
    $got_text eq $want_text;
});
is $got_text, $want_text, 'README sample: the metrics, byte for byte';
my (undef, undef, $status_text) = exchange($p3, get_req('/server-status?auto'));
my $got_auto = join '', map { "$_\n" } grep { /^UpgradeRequired/ } split /\n/, $status_text;
is $got_auto, $auto, 'README sample: the ?auto lines';
stop($rd);
