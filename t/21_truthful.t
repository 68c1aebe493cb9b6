# A truthful 426 in the places that remain: the UpgradeRequireTLSRedirect
# opt-in (308 to the https URL, no "Upgrade: TLS" for scanners such as
# testssl.sh's Opossum check), UpgradeRequireTLSURL, the URI and virtual
# host in the log lines and the debug facts, and an ErrorDocument whose
# proxied backend fails: the refusal stays 426.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars header_lines error_log_size error_log_since httpd_check);
use URReq qw(req expect);

plan tests => 39;
Test::More->builder->failure_output(\*STDERR);

my $v  = t_vars();
my $sp = $v->{ssl_port};

# the scanner's exact request (testssl.sh 3.3 run_opossum), raw bytes
my $opossum = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: TLS/1.0\r\n\r\n";
sub raw_to {
    my ($vhost, $bytes) = @_;
    my $port = Apache::Test::config()->{vhosts}{$vhost}{port}
        or die "no vhost $vhost\n";
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 10) or die "connect: $!";
    my ($head, $body) = URTest::raw_exchange($s, $bytes);
    close $s;
    return ($head // '', $body // '');
}

# ---- the default stays 426, and that is what the scanners flag ---------
my ($head, $body) = raw_to('ur_opossum', $opossum);
like $head, qr{\AHTTP/1\.1 426 }, 'default: the scanner request gets 426';
is_deeply [ header_lines($head, 'Upgrade') ], [ 'TLS/1.0, HTTP/1.1' ],
    'default: with Upgrade: TLS/1.0, HTTP/1.1 (what Opossum reports)';
like join(',', header_lines($head, 'Connection')), qr/close/i,
    'default: and the connection is closed, nothing is ever switched';

# ---- UpgradeRequireTLSRedirect on: 308, no Upgrade -----------------------
($head, $body) = raw_to('ur_redirect', $opossum);
like $head, qr{\AHTTP/1\.1 308 }, 'opt-in: the scanner request gets 308';
is_deeply [ header_lines($head, 'Location') ], [ "https://localhost:$sp/" ],
    'Location: the https URL on the TLS vhost of the same name';
is_deeply [ grep { /TLS/i } header_lines($head, 'Upgrade') ], [],
    'no Upgrade: TLS in the response';
like join(',', header_lines($head, 'Connection')), qr/close/i,
    'the refused Upgrade attempt still closes the connection';

my $r = req(GET => '/page.html?q=1', vhost => 'ur_redirect');
is $r->{status}, 308, 'a browser request: 308';
is_deeply [ header_lines($r->{head}, 'Location') ],
    [ "https://localhost:$sp/page.html?q=1" ], 'to the same path and query';
ok !(grep { /TLS/ } @{ $r->{upgrade} }), 'without Upgrade: TLS';
$r = req(POST => '/form', vhost => 'ur_redirect', body => 'a=1');
is $r->{status}, 308, 'a POST: 308 (keeps method and body, RFC 9110 15.4.9)';

$r = req(GET => '/live/', vhost => 'ur_redirect');
expect($r, 'TLS and websocket: a redirect would not do', 426, 'TLS/1.0, HTTP/1.1');
$r = req(GET => '/measure/', vhost => 'ur_redirect');
is $r->{status}, 200, 'report mode: served, never redirected';
$r = req(GET => '/elsewhere/x', vhost => 'ur_redirect');
is_deeply [ header_lines($r->{head}, 'Location') ],
    [ 'https://secure.example.org:8443/base/elsewhere/x' ],
    'UpgradeRequireTLSURL gives the redirect its base';

my $off = error_log_size();
req(GET => '/logged', vhost => 'ur_redirect');
like error_log_since($off, qr/UR00005/),
    qr{UR00005: 308 Permanent Redirect to https://localhost:$sp/logged: unmet requirement 'TLS' \(\S+truthful\.conf:\d+\): plaintext connection; URI /logged on virtual host localhost:\d+},
    'UR00005: where to, the requirement, the URI and the vhost';

# from .htaccess too
$r = req(GET => '/redir-ht/');
is $r->{status}, 308, '.htaccess opt-in: 308';
is_deeply [ header_lines($r->{head}, 'Location') ],
    [ "https://localhost:$sp/redir-ht/" ], '.htaccess opt-in: Location';
$r = req(GET => '/redir-ht/', tls => 1);
is $r->{status}, 200, 'over TLS: served';

# ---- UpgradeRequireTLSURL in the 426 body --------------------------------
$r = req(GET => '/tls-url/a?b=1');
like $r->{body}, qr{reconnect over <a href="https://secure\.example\.org:8443/base/tls-url/a\?b=1">},
    'the admin-given TLS URL in the body';
$r = req(GET => '/tls-url/a', headers => [ Accept => 'text/plain' ]);
like $r->{body}, qr{reconnect over https://secure\.example\.org:8443/base/tls-url/a\.},
    'and in the plain text';

# ---- the https and wss URLs ----------------------------------------------
$r = req(GET => '/x', vhost => 'ur_notwin', host => 'notwin.example');
like $r->{body}, qr{reconnect over <a href="https://notwin\.example/x">},
    'no TLS vhost serves the name: https URL on 443, no port';
# behind a trusted proxy that says https, a websocket URL is wss://
$r = req(GET => '/ws-only/', from => '127.0.0.2',
         headers => [ 'X-Forwarded-Proto' => 'https' ]);
like $r->{body}, qr{new WebSocket\(&#39;wss://localhost/ws-only/&#39;\)},
    'a trusted proxy reports https: wss://, on the default port';
$r = req(GET => '/ws-only/', from => '127.0.0.1',
         headers => [ 'X-Forwarded-Proto' => 'https' ]);
like $r->{body}, qr{new WebSocket\(&#39;ws://localhost:\d+/ws-only/&#39;\)},
    'an untrusted one does not';
# the proxy reported TLS but not its version: the reason says so
$r = req(GET => '/tls12/', from => '127.0.0.2', headers => [
         'X-Forwarded-Proto' => 'https', Accept => 'text/plain' ]);
like $r->{body}, qr{\A426 Upgrade Required\n\nTLS was reported only by a proxy, which did not report its version, so TLS 1\.2 or newer cannot be proven\.},
    'the reason: TLS only through a proxy, version unproven';

# ---- logs: URI and virtual host; debug facts ---------------------------
$off = error_log_size();
req(GET => '/tls-any/x%0Ay');
my $log = error_log_since($off, qr/UR00001/);
like $log, qr{UR00001: 426 Upgrade Required: unmet requirement 'TLS' \(\S+:\d+\): plaintext connection; URI /tls-any/x\\ny on virtual host localhost:\d+},
    'UR00001 names the URI (escaped) and the virtual host';
$off = error_log_size();
req(GET => '/report/');
like error_log_since($off, qr/UR00002/),
    qr{UR00002: report mode, would answer 426: unmet requirement 'TLS' \(\S+:\d+\): plaintext connection; URI /report/ on virtual host localhost:\d+},
    'UR00002 too';
$off = error_log_size();
req(GET => '/dbg/', headers => [ Upgrade => 'foo, websocket', Connection => 'Upgrade' ]);
$log = error_log_since($off, qr/facts for/);
like $log, qr{\[upgrade_required:debug\].*facts for /dbg/: protocol 1001, TLS none \(version 0\), Upgrade 'foo, websocket', Connection upgrade yes, GET yes, Sec-WebSocket-Version '-', Sec-WebSocket-Key missing, h2c accepted no},
    'LogLevel upgrade_required:debug: the facts of the decision';
$off = error_log_size();
req(GET => '/nodbg/');
unlike error_log_since($off, qr/UR00001/), qr/facts for/,
    'no facts at LogLevel info';

# ---- an ErrorDocument whose proxied backend answers 404 -------------------
$r = req(GET => '/ed-proxy-404/');
is $r->{status}, 426, 'proxied ErrorDocument, backend 404: still 426';
is_deeply $r->{upgrade}, ['websocket'], 'with our Upgrade line';
like $r->{connection}[0] // '', qr/Upgrade/i, 'and Connection: Upgrade';

# ---- config errors of the new directives ---------------------------------
for my $c (
    [ 'UpgradeRequireTLSURL http://example.org', qr/UpgradeRequireTLSURL: 'http:\/\/example\.org' is not an https:\/\/ URL \(allowed: https:\/\/host\[:port\]\[\/path\]\)/ ],
    [ 'UpgradeRequireTLSURL https://', qr/UpgradeRequireTLSURL: no host in 'https:\/\/'/ ],
    [ 'UpgradeRequireTLSURL https://example.org/?q=1', qr/UpgradeRequireTLSURL: character '\?' at position 21 of 'https:\/\/example\.org\/\?q=1'/ ],
    [ 'UpgradeRequireTLSURL https://a"b', qr/UpgradeRequireTLSURL: character '"' at position 10/ ],
    [ 'UpgradeRequireTLSURL https://example.org # CDN', qr/UpgradeRequireTLSURL: argument '#' starts a comment/ ],
    [ 'UpgradeRequireTLSRedirect maybe', qr/UpgradeRequireTLSRedirect: unknown value 'maybe' \(allowed: on, off\)/ ],
    [ "UpgradeRequireTLSRedirect on\nUpgradeRequireTLSURL https://[2001:db8::1]:8443/x/", undef ],
) {
    my ($lines, $want) = @$c;
    my (undef, $out) = httpd_check($lines);
    if ($want) {
        like $out, $want, "httpd -t refuses: $lines";
    }
    else {
        like $out, qr/Syntax OK/, "httpd -t accepts: $lines";
    }
}
