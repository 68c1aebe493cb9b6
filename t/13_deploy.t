# Deployment realities: report mode serves and logs, the exports reach the
# access log, CGI and mod_headers, trusted proxies vouch for TLS through the
# one header they write (and for its version only through the header that
# carries it), untrusted and mod_remoteip-rewritten peers do not, and
# mod_cache's quick handler answers before any per-directory rule.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars error_log_size error_log_since);
use URReq qw(req);

plan tests => 56;
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
# Only the header the proxy writes counts (default X-Forwarded-Proto), and
# only its last element: what the proxy next to us overwrote or appended.
my $xfp = 'X-Forwarded-Proto';
my @proxy = (
    # label, from, vhost, headers, path, status
    [ "trusted, $xfp: https", '127.0.0.2', undef, [ $xfp => 'https' ], '/tls-any/', 200 ],
    [ "trusted, $xfp: HTTPS", '127.0.0.2', undef, [ $xfp => 'HTTPS' ], '/tls-any/', 200 ],
    [ "trusted, $xfp: http", '127.0.0.2', undef, [ $xfp => 'http' ], '/tls-any/', 426 ],
    [ 'trusted, no header', '127.0.0.2', undef, [], '/tls-any/', 426 ],
    [ "trusted, client's https before the proxy's appended http", '127.0.0.2', undef, [ $xfp => 'https, http' ], '/tls-any/', 426 ],
    [ 'trusted, Forwarded is not the configured header', '127.0.0.2', undef, [ Forwarded => 'for=192.0.2.1;proto=https' ], '/tls-any/', 426 ],
    [ "proxy writes $xfp: http, client adds Forwarded: proto=https", '127.0.0.2', undef, [ $xfp => 'http', Forwarded => 'proto=https' ], '/tls-any/', 426 ],
    [ 'trusted, https but TLS/1.2 asked (no version header configured)', '127.0.0.2', undef, [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1.3' ], '/tls12/', 426 ],
    [ "untrusted peer spoofing $xfp", '127.0.0.1', undef, [ $xfp => 'https' ], '/tls-any/', 426 ],
    [ 'untrusted peer spoofing Forwarded', '127.0.0.1', undef, [ Forwarded => 'proto=https' ], '/tls-any/', 426 ],
    [ 'untrusted peer, mod_remoteip says 127.0.0.2', '127.0.0.1', undef, [ 'X-Real-IP' => '127.0.0.2', $xfp => 'https' ], '/tls-any/', 426 ],
    # an AWS ALB: X-Forwarded-Proto plus X-Amzn-Tls-Version
    [ 'ALB: TLSv1.2 meets TLS/1.2', '127.0.0.2', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1.2' ], '/tls12/', 200 ],
    [ 'ALB: TLSv1.3 meets TLS/1.2', '127.0.0.2', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1.3' ], '/tls12/', 200 ],
    [ 'ALB: TLSv1.3 meets TLS/1.3', '127.0.0.2', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1.3' ], '/tls13/', 200 ],
    [ 'ALB: TLSv1.2 is too old for TLS/1.3', '127.0.0.2', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1.2' ], '/tls13/', 426 ],
    [ 'ALB: TLSv1 is too old for TLS/1.2', '127.0.0.2', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1' ], '/tls12/', 426 ],
    [ 'ALB: garbage version', '127.0.0.2', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv9<script>' ], '/tls12/', 426 ],
    [ 'ALB: no version header', '127.0.0.2', 'ur_alb', [ $xfp => 'https' ], '/tls12/', 426 ],
    [ 'ALB: a version without https', '127.0.0.2', 'ur_alb', [ $xfp => 'http', 'X-Amzn-Tls-Version' => 'TLSv1.3' ], '/tls12/', 426 ],
    [ 'ALB: any TLS', '127.0.0.2', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1' ], '/tls-any/', 200 ],
    [ 'ALB: untrusted peer sending both headers', '127.0.0.1', 'ur_alb', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1.3' ], '/tls12/', 426 ],
    # RFC 7239 Forwarded as the configured header, HAProxy-style version
    [ 'Forwarded proto=https', '127.0.0.2', 'ur_fwd', [ Forwarded => 'for=192.0.2.1;proto=https' ], '/tls-any/', 200 ],
    [ 'Forwarded quoted', '127.0.0.2', 'ur_fwd', [ Forwarded => 'for="[2001:db8::1]";proto="https"' ], '/tls-any/', 200 ],
    [ 'Forwarded: last hop says http', '127.0.0.2', 'ur_fwd', [ Forwarded => 'proto=https, for=10.1.1.1;proto=http' ], '/tls-any/', 426 ],
    [ "Forwarded vhost ignores $xfp", '127.0.0.2', 'ur_fwd', [ $xfp => 'https' ], '/tls-any/', 426 ],
    [ 'Forwarded + X-TLS-Version: TLSv1.3', '127.0.0.2', 'ur_fwd', [ Forwarded => 'proto=https', 'X-TLS-Version' => 'TLSv1.3' ], '/tls13/', 200 ],
    [ 'Forwarded + X-Amzn-Tls-Version is not the configured one', '127.0.0.2', 'ur_fwd', [ Forwarded => 'proto=https', 'X-Amzn-Tls-Version' => 'TLSv1.3' ], '/tls13/', 426 ],
    # X-Forwarded-Ssl: on, a vhost trusting another address
    [ 'X-Forwarded-Ssl: on from its proxy', '127.0.0.3', 'ur_xssl', [ 'X-Forwarded-Ssl' => 'on' ], '/tls-any/', 200 ],
    [ 'X-Forwarded-Ssl: off', '127.0.0.3', 'ur_xssl', [ 'X-Forwarded-Ssl' => 'off' ], '/tls-any/', 426 ],
    [ "the main server's proxy is not trusted there", '127.0.0.2', 'ur_xssl', [ 'X-Forwarded-Ssl' => 'on' ], '/tls-any/', 426 ],
    # a vhost's own lines, then a server directive; lines only
    [ 'lines first: the main server trust holds', '127.0.0.2', 'ur_locfirst', [ $xfp => 'https' ], '/vh-tls/', 200 ],
    [ '... and its own version header', '127.0.0.2', 'ur_locfirst', [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1.2' ], '/tls12/', 200 ],
    [ '... an untrusted peer', '127.0.0.1', 'ur_locfirst', [ $xfp => 'https' ], '/vh-tls/', 426 ],
    [ 'lines only: the main server trust holds', '127.0.0.2', 'ur_loconly', [ $xfp => 'https' ], '/vh-tls/', 200 ],
    [ '... without the header', '127.0.0.2', 'ur_loconly', [], '/vh-tls/', 426 ],
    [ '... an untrusted peer', '127.0.0.1', 'ur_loconly', [ $xfp => 'https' ], '/vh-tls/', 426 ],
);
for my $p (@proxy) {
    my ($label, $from, $vhost, $headers, $path, $status) = @$p;
    my $r = req(GET => $path, from => $from, headers => $headers,
                $vhost ? (vhost => $vhost) : ());
    is $r->{status}, $status, "$label -> $status";
}
$r = req(GET => '/tls12/', from => '127.0.0.2', vhost => 'ur_alb',
         headers => [ $xfp => 'https', 'X-Amzn-Tls-Version' => 'TLSv1' ]);
like $r->{body}, qr/older TLS version \(TLS 1\.0\): reconnect over .* with TLS 1\.2 or newer/,
    'a version the proxy reported: the body says it is too old';
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
