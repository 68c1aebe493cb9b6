# UpgradeRequire websocket: refused plain requests get 426 with exactly one
# "Upgrade: websocket"; real handshakes pass through mod_proxy_wstunnel and
# mod_proxy_http (upgrade=websocket) to t/bin/wsecho and echo frames.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars raw_socket tls_socket read_head read_response
              ws_frame ws_read_frame ws_accept_key ws_echo_start);
use URReq qw(req);

plan tests => 44;
Test::More->builder->failure_output(\*STDERR);

ws_echo_start(t_vars()->{t_logs} . '/wsecho.sock');

my $key = 'dGhlIHNhbXBsZSBub25jZQ==';
my @ws = (Upgrade => 'websocket', Connection => 'Upgrade',
          'Sec-WebSocket-Key' => $key, 'Sec-WebSocket-Version' => 13);

# --- refusals --------------------------------------------------------------
for my $tls (0, 1) {
    my $r = req(GET => '/ws-tunnel', tls => $tls);
    my $on = $tls ? ' over TLS' : '';
    is $r->{status}, 426, "plain GET$on -> 426";
    is_deeply $r->{upgrade}, ['websocket'], "exactly one Upgrade: websocket$on";
    is scalar @{ $r->{connection} }, 1, "one Connection line$on";
    like $r->{connection}[0], qr/(^|,\s*)Upgrade(\s*,|$)/i,
        "Connection lists Upgrade$on";
}

my $r = req(GET => '/ws-tunnel');
like $r->{body}, qr/only speaks WebSocket/, 'behind mod_proxy_wstunnel: our body';
unlike $r->{body}, qr/SSL/, "not wstunnel's or httpd's SSL-worded text";

$r = req(GET => '/ws-only/', headers => [ Upgrade => 'websocket' ]);
is $r->{status}, 426, 'Upgrade without Connection: upgrade -> 426';

$r = req(GET => '/ws-only/', headers => [ @ws[0 .. 1], Connection => 'keep-alive, Upgrade',
                                         @ws[4 .. 7] ]);
is $r->{status}, 200, 'Connection: keep-alive, Upgrade is parsed as a list';

$r = req(GET => '/ws-only/', headers => [ Upgrade => 'WebSocket', Connection => 'upgrade',
                                         @ws[4 .. 7] ]);
is $r->{status}, 200, 'tokens are case-insensitive (Upgrade: WebSocket)';

# Only an Upgrade value of exactly "websocket" is a handshake: the proxies
# do not switch on a list (ap_proxy_worker_can_upgrade), which would reach
# the backend as a plain GET, or through upgrade=websocket as a handshake
# the proxy then refuses to complete (502); see t/17_ws_handshake.t.
$r = req(GET => '/ws-only/', headers => [ Upgrade => 'foo, websocket', @ws[2 .. 7] ]);
is $r->{status}, 426, 'websocket in a list of offers is no handshake -> 426';
is_deeply $r->{upgrade}, ['websocket'], 'and the 426 offers websocket alone';

$r = req(POST => '/ws-only/', headers => \@ws, body => '');
is $r->{status}, 426, 'a POST handshake does not satisfy websocket';

$r = req(GET => '/ws-only/', headers => [ @ws[0 .. 5], 'Sec-WebSocket-Version' => 8 ]);
is $r->{status}, 426, 'Sec-WebSocket-Version: 8 -> 426';
is_deeply [ URTest::header_lines($r->{head}, 'Sec-WebSocket-Version') ], ['13'],
    'RFC 6455 4.2.2: 426 carries Sec-WebSocket-Version: 13';

$r = req(GET => '/ws-only/', headers => \@ws, proto => 'HTTP/1.0');
is $r->{status}, 426, 'HTTP/1.0 with Upgrade: websocket -> 426 (RFC 9110 7.8)';
is_deeply $r->{upgrade}, ['websocket'], 'HTTP/1.0 426 still advertises websocket';

$r = req(GET => '/ws-only/');
is $r->{status}, 426, 'no Sec-WebSocket-Version header on a plain refusal...';
is_deeply [ URTest::header_lines($r->{head}, 'Sec-WebSocket-Version') ], [],
    '...only when a websocket attempt had the wrong version';

$r = req(GET => '/index.html', headers => \@ws);
is $r->{status}, 200, 'no rule: a websocket offer to a static file is just served';
ok !(grep { /websocket/i } @{ $r->{upgrade} }), 'and nothing advertises websocket there';

# --- handshakes through the proxies, plain and TLS ---------------------------
for my $case (['/ws-tunnel', 0], ['/ws-http', 0], ['/ws-tunnel', 1],
              ['/ws-http', 1]) {
    my ($path, $tls) = @$case;
    my $label = $path . ($tls ? ' (TLS)' : '');
    my $s = $tls ? tls_socket() : raw_socket();
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
           . "Connection: Upgrade\r\nSec-WebSocket-Key: $key\r\n"
           . "Sec-WebSocket-Version: 13\r\n\r\n";
    my $head = read_head($s) // '';
    like $head, qr{\AHTTP/1\.1 101 }, "$label: handshake -> 101";
    like $head, qr{\r\nSec-WebSocket-Accept: \Q${\ ws_accept_key($key)}\E\r\n}i,
        "$label: accept key from the backend";
    like $head, qr{\r\nX-Backend-URI: \Q$path\E\r\n}i, "$label: reached wsecho";
    syswrite $s, ws_frame("ping $label");
    my ($op, $data) = ws_read_frame($s);
    is $data, "ping $label", "$label: frame echoed through httpd";
    syswrite $s, ws_frame('', 8);
    close $s;
}

# --- the error log names the requirement, the directive's place and why ----
my $log = URTest::error_log_since(0);
like $log, qr/UR00001: 426 Upgrade Required: unmet requirement 'websocket' \(\S*upgrade\.conf:\d+\): no matching Upgrade offer/,
    'info line with tag, requirement, file:line and reason';
like $log, qr/UR00001: .*Sec-WebSocket-Version is not 13/, 'version reason logged';
like $log, qr/UR00001: .*Upgrade in an HTTP\/1\.0 request is ignored/,
    'HTTP/1.0 reason logged';
like $log, qr/upgrade_required: all 1 requirement\(s\) met/, 'trace line for passes';
