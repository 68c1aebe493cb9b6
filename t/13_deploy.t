# Deployment realities: report mode serves and logs, the exports reach the
# access log, CGI and mod_headers, trusted proxies vouch for TLS (never for
# its version), untrusted and mod_remoteip-rewritten peers do not, and
# mod_cache's quick handler answers before any per-directory rule.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars error_log_size error_log_since);
use URReq qw(req);

plan tests => 29;
Test::More->builder->failure_output(\*STDERR);

my $logs = t_vars()->{t_logs};
sub log_since {
    my ($file, $off, $want) = @_;
    for (1 .. 50) {
        open my $fh, '<', "$logs/$file" or die "$file: $!";
        seek $fh, $off, 0;
        my $text = do { local $/; <$fh> } // '';
        return $text if !$want || $text =~ $want;
        select undef, undef, undef, 0.1;
    }
    return '';
}

# ---- report mode: served, logged, exported, nothing advertised ----------
my $acc = -s "$logs/ur_access_log" // 0;
my $only = -s "$logs/ur_only_log" // 0;
my $off = error_log_size();
my $r = req(GET => '/report/');
is $r->{status}, 200, 'report mode: the request is served';
like $r->{body}, qr{content of /report/}, 'with its real content';
ok !(grep { /TLS/ } @{ $r->{upgrade} }), 'no Upgrade advertisement on the 200 (see README)';
is $r->{head} =~ /^X-Upgrade-Required: TLS\r?$/mi ? 1 : 0, 1, 'mod_headers sees %{UPGRADE_REQUIRED}e';
like error_log_since($off, qr/UR00002/), qr/UR00002: report mode, would answer 426: unmet requirement 'TLS' \(\S+:\d+\): plaintext connection/,
    'info line: would-be 426 with requirement, location and reason';
like log_since('ur_access_log', $acc, qr{/report/}), qr{"GET /report/ HTTP/1\.1" 200 ur_env="TLS" ur_note="TLS"},
    'access log: %{UPGRADE_REQUIRED}e and %{upgrade-required}n on the 200';
$r = req(GET => '/report/', tls => 1);
is $r->{status}, 200, 'report mode over TLS: served';
ok !($r->{head} =~ /^X-Upgrade-Required:/mi), 'and nothing exported when the requirement holds';
$r = req(GET => '/report-cgi');
like $r->{body}, qr/^UPGRADE_REQUIRED=TLS$/m, 'a CGI script sees UPGRADE_REQUIRED';

# ---- enforce mode exports the same --------------------------------------
$acc = -s "$logs/ur_access_log";
req(GET => '/multi/');
like log_since('ur_access_log', $acc, qr{/multi/}), qr{"GET /multi/ HTTP/1\.1" 426 ur_env="TLS/1\.2" ur_note="TLS/1\.2"},
    'enforce: the first unmet requirement in the access log';
req(GET => '/alt/');
like log_since('ur_access_log', $acc, qr{/alt/}), qr{"GET /alt/ HTTP/1\.1" 426 ur_env="websocket or h2c"},
    'alternatives are logged as written';
req(GET => '/ed-static/');
like log_since('ur_access_log', $acc, qr{/ed-static/}), qr{"GET /ed-static/ HTTP/1\.1" 426 ur_env="websocket"},
    'logged on the original request through an ErrorDocument';
req(GET => '/index.html');
my $o = log_since('ur_only_log', $only, qr{/ed-static/});
like $o, qr{/multi/.*/alt/.*/ed-static/}s, 'CustomLog env=UPGRADE_REQUIRED gets the refused and reported requests';
unlike $o, qr{/index\.html}, '...and not the others';

# ---- trusted proxies ----------------------------------------------------
my @proxy = (
    # label, from, headers, path, status
    [ 'trusted, X-Forwarded-Proto: https', '127.0.0.2', [ 'X-Forwarded-Proto' => 'https' ], '/tls-any/', 200 ],
    [ 'trusted, Forwarded proto=https', '127.0.0.2', [ Forwarded => 'for=192.0.2.1;proto=https' ], '/tls-any/', 200 ],
    [ 'trusted, Forwarded quoted', '127.0.0.2', [ Forwarded => 'for="[2001:db8::1]";proto="https"' ], '/tls-any/', 200 ],
    [ 'trusted, last Forwarded hop says http', '127.0.0.2', [ Forwarded => 'proto=https, for=10.1.1.1;proto=http' ], '/tls-any/', 426 ],
    [ 'trusted, X-Forwarded-Proto: http', '127.0.0.2', [ 'X-Forwarded-Proto' => 'http' ], '/tls-any/', 426 ],
    [ 'trusted, no header', '127.0.0.2', [], '/tls-any/', 426 ],
    [ 'trusted, https but TLS/1.2 asked', '127.0.0.2', [ 'X-Forwarded-Proto' => 'https' ], '/tls12/', 426 ],
    [ 'untrusted peer spoofing X-Forwarded-Proto', '127.0.0.1', [ 'X-Forwarded-Proto' => 'https' ], '/tls-any/', 426 ],
    [ 'untrusted peer spoofing Forwarded', '127.0.0.1', [ Forwarded => 'proto=https' ], '/tls-any/', 426 ],
    [ 'untrusted peer, mod_remoteip says 127.0.0.2', '127.0.0.1', [ 'X-Real-IP' => '127.0.0.2', 'X-Forwarded-Proto' => 'https' ], '/tls-any/', 426 ],
);
for my $p (@proxy) {
    my ($label, $from, $headers, $path, $status) = @$p;
    my $r = req(GET => $path, from => $from, headers => $headers);
    is $r->{status}, $status, "$label -> $status";
}
$r = req(GET => '/tls12/', from => '127.0.0.2', headers => [ 'X-Forwarded-Proto' => 'https' ]);
like $r->{body}, qr/TLS 1\.2 or newer is required, and the TLS version of a connection made through a proxy cannot be checked here/,
    'the body says why a versioned TLS token cannot be proven through a proxy';
$off = error_log_size();
req(GET => '/tls12/', from => '127.0.0.2', headers => [ 'X-Forwarded-Proto' => 'https' ]);
like error_log_since($off, qr/UR00001/), qr/TLS only reported by a proxy, its version cannot be proven/,
    'and the log says so';

# ---- mod_cache: CacheQuickHandler on answers before per-dir rules ---------
$r = req(GET => '/cached-h11/');
is $r->{status}, 200, 'HTTP/1.1 fills the cache';
$r = req(GET => '/cached-h11/');
like $r->{head}, qr/^Age:/mi, 'second HTTP/1.1 request comes from the cache';
$r = req(GET => '/cached-h11/', proto => 'HTTP/1.0');
is $r->{status}, 200, 'HTTP/1.0 gets the cached 200: the quick handler bypasses UpgradeRequire (documented)';
