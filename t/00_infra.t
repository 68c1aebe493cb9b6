# The test bed itself, before any module behaviour: every module Apache::Test
# should know, TLS with the test CA (and forcing TLS 1.2 from each client the
# tests use, which is why there is no TLS-1.2-only vhost), h2c and h2, the
# wsecho backend on its own, and the URTest readers.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use IO::Socket::UNIX ();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use URTest qw(:all);

my @modules = do {
    open my $fh, '<', "$FindBin::Bin/modules.conf" or die "modules.conf: $!";
    map { /^\s*LoadModule\s+(\w+)_module\s/ ? $1 : () } <$fh>;
};

plan tests => @modules + 39;
# -withtestmore prints failure diagnostics on STDOUT, where the harness
# hides them; CI logs must show why a test failed.
Test::More->builder->failure_output(\*STDERR);

my $v = t_vars();

# A module missing here would make Apache::Test skip, not fail: assert.
ok(Apache::Test::have_module($_), "Apache::Test knows module $_") for @modules;

my $res = GET '/index.html';
is $res->code, 200, 'http: GET /index.html';
like $res->content, qr/test server index/, 'http: index body';

Apache::TestRequest::module('mod_ssl');
Apache::TestRequest::scheme('https');
$res = GET '/index.html';
is $res->code, 200, 'https via LWP, verified against the test CA'
    or diag $res->as_string;
Apache::TestRequest::module('default');
Apache::TestRequest::scheme('http');

my $req = "GET /index.html HTTP/1.1\r\nHost: $v->{host}\r\nConnection: close\r\n\r\n";

my $s = raw_socket('mod_ssl');
ok $s->isa('IO::Socket::SSL'), 'raw_socket(mod_ssl) is TLS';
my ($head) = raw_exchange($s, $req);
like $head, qr{\AHTTP/1\.1 200 }, 'raw_socket(mod_ssl): 200';

$s = tls_socket();
is $s->get_sslversion, 'TLSv1_3', 'tls_socket: TLS 1.3 by default';
($head) = raw_exchange($s, $req);
like $head, qr{\AHTTP/1\.1 200 }, 'tls_socket: 200';

$s = tls_socket(SSL_version => 'TLSv1_2');
is $s->get_sslversion, 'TLSv1_2', 'IO::Socket::SSL can force TLS 1.2';
($head) = raw_exchange($s, $req);
like $head, qr{\AHTTP/1\.1 200 }, 'TLS 1.2: 200';

my $out = curl('-v', '--tls-max', '1.2', '-o', '/dev/null', "$v->{ssl_url}/");
like $out, qr/SSL connection using TLSv1\.2/, 'curl --tls-max 1.2 gets TLS 1.2'
    or diag $out;
like $out, qr{^< HTTP/[\d.]+ 200}m, 'curl TLS 1.2: 200';

$out = capture('openssl', 's_client', '-brief', '-tls1_2',
    '-connect', "127.0.0.1:$v->{ssl_port}", '-servername', $v->{host},
    '-verify_hostname', $v->{host}, '-CAfile', $v->{ca});
like $out, qr/^Protocol version: TLSv1\.2$/m, 'openssl s_client -tls1_2'
    or diag $out;
like $out, qr/^Verification: OK$/m, 'openssl s_client verifies the test CA';

$out = nghttp('-v', "$v->{url}/index.html");
like $out, qr/:status: 200/, 'nghttp: h2c prior knowledge on the plain port'
    or diag $out;
$out = curl('--http2', '-o', '/dev/null', '-D', '-', "$v->{ssl_url}/index.html");
like $out, qr{^HTTP/2 200}m, 'curl --http2: h2 over TLS (ALPN)' or diag $out;

# Two requests on one connection, HEAD in between: read_response must frame
# each body exactly or the next status line is garbage.
$s = raw_socket();
my $get = "GET /index.html HTTP/1.1\r\nHost: $v->{host}\r\n\r\n";
my ($h1, $b1) = raw_exchange($s, $get, keepalive => 1);
(my $h2) = raw_exchange($s, "HEAD /index.html HTTP/1.1\r\nHost: $v->{host}\r\n\r\n",
                        keepalive => 1);
my ($h3, $b3) = raw_exchange($s, $get, keepalive => 1);
like $b1, qr/test server index/, 'keepalive: first body';
like $h2, qr{\AHTTP/1\.1 200 }, 'keepalive: HEAD on the same connection';
ok $h3 =~ m{\AHTTP/1\.1 200 } && $b3 eq $b1, 'keepalive: third request, same body';

# Chunked bodies with extensions and trailers, then a bodyless 204.
socketpair(my $r, my $w, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
syswrite $w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nUpgrade: a\r\n"
    . "Upgrade: b, c\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: y\r\n\r\n"
    . "HTTP/1.1 204 No Content\r\n\r\n";
close $w;
my ($st, $rh, $rb) = read_response($r);
ok $st eq '200' && $rb eq 'hello world', 'read_response: chunked body';
is_deeply [header_lines($rh, 'upgrade')], ['a', 'b, c'], 'header_lines: every line';
($st, undef, $rb) = read_response($r);
ok $st eq '204' && $rb eq '', 'read_response: 204 after chunked';

# The backend alone, through no httpd.
my $sock = "$v->{t_logs}/wsecho-infra.sock";
my $wslog = "$v->{t_logs}/wsecho-infra.log";
unlink $wslog;
my $pid = ws_echo_start($sock, ttl => 60, log => $wslog);
ok $pid, 'wsecho started';

my $u = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock) or die "$sock: $!";
my ($uh, $ub) = raw_exchange($u, "GET /plain?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
like $uh, qr{\AHTTP/1\.1 200 }, 'wsecho: plain request -> 200';
is $ub, "wsecho: plain HTTP request to /plain?x=1\n", 'wsecho: plain body names the target';

my $key = 'dGhlIHNhbXBsZSBub25jZQ==';
$u = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock) or die "$sock: $!";
($uh) = raw_exchange($u, "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    . "Connection: Upgrade\r\nSec-WebSocket-Key: $key\r\n"
    . "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n",
    head_only => 1);
like $uh, qr{\AHTTP/1\.1 101 }, 'wsecho: handshake -> 101';
is_deeply [header_lines($uh, 'Sec-WebSocket-Accept')], ['s3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
    'wsecho: accept key (RFC 6455 1.3 example)';
is ws_accept_key($key), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'ws_accept_key: RFC example';
is_deeply [header_lines($uh, 'X-Backend-URI')], ['/echo'], 'wsecho: X-Backend-URI';
is_deeply [header_lines($uh, 'Sec-WebSocket-Protocol')], ['chat'],
    'wsecho: first offered subprotocol';

syswrite $u, ws_frame('hello');
is_deeply [ws_read_frame($u)], [1, 'hello', 1], 'wsecho: text echo';
my $big = join '', map { chr($_ % 256) } 1 .. 70000;
syswrite $u, ws_frame($big, 2);
my ($op, $data) = ws_read_frame($u);
ok $op == 2 && $data eq $big, 'wsecho: 70000-byte binary echo (64-bit length)';
syswrite $u, ws_frame('frag-', 1, 1, 0) . ws_frame('ment', 0);
is_deeply [[ws_read_frame($u)], [ws_read_frame($u)]],
    [[1, 'frag-', 0], [0, 'ment', 1]], 'wsecho: fragments echoed as sent';
syswrite $u, ws_frame('p', 9);
is_deeply [ws_read_frame($u)], [10, 'p', 1], 'wsecho: ping -> pong';
syswrite $u, ws_frame(pack('n', 1000) . 'bye', 8);
is_deeply [ws_read_frame($u)], [8, pack('n', 1000) . 'bye', 1], 'wsecho: close echoed';
is_deeply [ws_read_frame($u)], [], 'wsecho: connection closed after close';
is_deeply [ do { open my $fh, '<', $wslog or die "$wslog: $!"; <$fh> } ],
    [ "GET /plain?x=1 handshake=0 upgrade=-\n",
      "GET /echo handshake=1 upgrade=websocket\n" ],
    'wsecho --log: one line per request, plain and handshake';

# error_log audits see what one request caused (core logs AH00128 at info).
my $off = error_log_size();
$res = GET '/no-such-file-infra';
is $res->code, 404, 'missing file -> 404';
like error_log_since($off, qr/AH00128/), qr/AH00128: .*no-such-file-infra/,
    'error_log_since sees the request\'s log line';
# t/logs/error_log keeps earlier runs: judge only this server's lines.
(my $run = error_log_since(0)) =~ s/\A.*resuming normal operations[^\n]*\n//s;
my @noise = grep { /\[[\w:]+:trace[4-8]\]/ } split /\n/, $run;
is scalar(@noise), 0, 'extra.conf LogLevel overrides the generated trace8'
    or diag "first of them: $noise[0]";
