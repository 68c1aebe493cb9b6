# HTTP versions, h2c, other upgrade tokens, alternatives on one line and
# several lines in one scope, checked with raw HTTP/1.x, curl and nghttp.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars curl nghttp);
use URReq qw(req expect);

my @ws = (Upgrade => 'websocket', Connection => 'Upgrade',
          'Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version' => 13);

my @raw = (
    # label, path, %req options, status, Upgrade (undef: not ours)
    [ 'HTTP/1.0 to HTTP/1.1 area', '/h11/', { proto => 'HTTP/1.0' }, 426, 'HTTP/1.1' ],
    [ 'HTTP/1.1 to HTTP/1.1 area', '/h11/', {}, 200, undef ],
    # cleartext, where the core takes h2c: advertise what it performs
    [ 'HTTP/1.1 to HTTP/2 area', '/h2only/', {}, 426, 'h2c' ],
    [ 'HTTP/1.1 over TLS to HTTP/2 area', '/h2only/', { tls => 1 }, 426, 'HTTP/2' ],
    [ 'HTTP/1.1 to h2c area', '/h2c-only/', {}, 426, 'h2c' ],
    [ 'HTTP/1.0 offering h2c', '/h2c-only/',
      { proto => 'HTTP/1.0', headers => [ Upgrade => 'h2c', Connection => 'Upgrade, HTTP2-Settings',
                                          'HTTP2-Settings' => 'AAMAAABkAAQAAP__' ] }, 426, 'h2c' ],
    [ 'foo/2 offered', '/custom/', { headers => [ Upgrade => 'foo/2', Connection => 'upgrade' ] }, 200, undef ],
    [ 'FOO/2 offered (case)', '/custom/', { headers => [ Upgrade => 'FOO/2', Connection => 'upgrade' ] }, 200, undef ],
    [ 'foo/3 offered', '/custom/', { headers => [ Upgrade => 'foo/3', Connection => 'upgrade' ] }, 426, 'foo/2' ],
    [ 'foo/2 without Connection: upgrade', '/custom/', { headers => [ Upgrade => 'foo/2' ] }, 426, 'foo/2' ],
    [ 'foo/2 in HTTP/1.0', '/custom/', { proto => 'HTTP/1.0', headers => [ Upgrade => 'foo/2', Connection => 'upgrade' ] }, 426, 'foo/2' ],
    [ 'alternatives, none met', '/alt/', {}, 426, 'websocket, h2c' ],
    [ 'alternatives, websocket met', '/alt/', { headers => \@ws }, 200, undef ],
    [ 'two lines, none met', '/multi/', {}, 426, 'TLS/1.2, HTTP/1.1' ],
    [ 'two lines, TLS met', '/multi/', { tls => 1 }, 426, 'websocket' ],
    [ 'two lines, both met', '/multi/', { tls => 1, headers => \@ws }, 200, undef ],
);

plan tests => 2 * @raw + 24;
Test::More->builder->failure_output(\*STDERR);

for my $c (@raw) {
    my ($label, $path, $opt, $status, $upgrade) = @$c;
    expect(req(GET => $path, %$opt), $label, $status, $upgrade);
}

# the body names every unmet requirement; Upgrade only the first
my $r = req(GET => '/multi/');
like $r->{body}, qr/reconnect over <a href="https:\/\/.*WebSocket client/s,
    'body names both unmet requirements (TLS, then websocket)';

my $v = t_vars();
# HTTP/2 satisfies HTTP/2 and h2c, over h2c (prior knowledge) and h2 (ALPN)
my $out = nghttp('-v', "$v->{url}/h2only/");
like $out, qr/:status: 200/, 'nghttp h2c prior knowledge satisfies HTTP/2';
$out = nghttp('-v', "$v->{url}/h2c-only/");
like $out, qr/:status: 200/, 'nghttp h2c prior knowledge satisfies h2c';
$out = curl('-i', '--http2', "$v->{ssl_url}/h2only/");
like $out, qr{^HTTP/2 200}m, 'curl h2 over TLS satisfies HTTP/2';
$out = curl('-i', '--http2-prior-knowledge', "$v->{url}/h11/");
like $out, qr{^HTTP/2 200}m, 'HTTP/2 satisfies HTTP/1.1 ("at least")';

# an h2c upgrade offer this server accepts satisfies h2c: 101, then h2
$out = curl('-i', '--http2', "$v->{url}/h2c-only/");
like $out, qr{^HTTP/1\.1 101 }m, 'curl Upgrade: h2c is switched (101)';
like $out, qr{^HTTP/2 200}m, 'and answered over HTTP/2';
$out = nghttp('-v', '-u', "$v->{url}/h2c-only/");
like $out, qr/HTTP Upgrade response.*101|:status: 200/s, 'nghttp -u: upgraded and 200';

# HTTP/2 on cleartext where the core takes h2c: curl --http2's offer is
# accepted (the response then goes out over HTTP/2), and the 426 for a
# plain HTTP/1.1 request advertised exactly that upgrade
$out = curl('-i', '--http2', "$v->{url}/h2only/");
like $out, qr{^HTTP/1\.1 101 }m, 'HTTP/2 area: curl --http2 offers h2c, 101';
like $out, qr{^HTTP/2 200}m, 'and gets its 200 over HTTP/2';

# where mod_http2 would ignore the offer (H2Upgrade off), it does not count
$out = curl('-i', '--http2', "$v->{url}/h2c-noupgrade/");
like $out, qr{^HTTP/1\.1 426 }m, 'h2c offer the server would ignore -> 426';
unlike $out, qr{^HTTP/1\.1 101 }m, 'and no switch happened';
unlike $out, qr{^Upgrade:.*h2c}mi, 'no h2c advertised where the core would not switch';
like $out, qr{^Upgrade: HTTP/2\.0\r?$}m, 'the required protocol instead';
# over TLS h2c can never be accepted
$r = req(GET => '/h2c-only/', tls => 1, headers => [ Upgrade => 'h2c',
         Connection => 'Upgrade, HTTP2-Settings', 'HTTP2-Settings' => 'AAMAAABkAAQAAP__' ]);
is $r->{status}, 426, 'h2c offer over TLS -> 426';

# h2c counts only where the core really switches: core_upgrade_handler
# parses the client's own Upgrade strictly and compares exactly, and
# mod_http2 wants HTTP2-Settings (also in Connection) and no body.  Each
# of these was once a 200 over HTTP/1.1 without any switch.
my $settings = 'AAMAAABkAAQAAP__';
my @h2c = (
    # label, Upgrade, Connection, extra headers, body, status
    [ 'exact h2c', 'h2c', 'Upgrade, HTTP2-Settings', [], undef, 101 ],
    [ 'h2c among other offers', 'h2c, foo', 'Upgrade, HTTP2-Settings', [], undef, 101 ],
    [ 'H2C (the core compares exactly)', 'H2C', 'Upgrade, HTTP2-Settings', [], undef, 426 ],
    [ 'foo/1, h2c (strict parse fails on /)', 'foo/1, h2c', 'Upgrade, HTTP2-Settings', [], undef, 426 ],
    [ 'h2c, "x" (strict parse fails on ")', 'h2c, "x"', 'Upgrade, HTTP2-Settings', [], undef, 426 ],
    [ 'no HTTP2-Settings header', 'h2c', 'Upgrade, HTTP2-Settings', undef, undef, 426 ],
    [ 'HTTP2-Settings not in Connection', 'h2c', 'Upgrade', [], undef, 426 ],
    [ 'no upgrade in Connection', 'h2c', 'HTTP2-Settings', [], undef, 426 ],
    [ 'a request body', 'h2c', 'Upgrade, HTTP2-Settings', [], 'hello', 426 ],
);
for my $c (@h2c) {
    my ($label, $up, $conn, $extra, $body, $status) = @$c;
    my @h = (Upgrade => $up, Connection => $conn,
             defined $extra ? ('HTTP2-Settings' => $settings, @$extra) : ());
    my $r = req(defined $body ? 'POST' : 'GET', '/h2c-only/', headers => \@h,
                defined $body ? (body => $body) : ());
    is $r->{status}, $status, "h2c offer, $label -> $status";
}
