# Our own 426 body: accurate advice per unmet requirement, negotiated on
# Accept (q-values honoured) into HTML, RFC 9457 problem+json or plain
# text, Vary: Accept, no request data unescaped, HEAD without a body.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use URTest qw(t_vars header_lines);
use URReq qw(req);

my @neg = (
    # Accept, expected Content-Type
    [ undef, 'text/html; charset=utf-8' ],
    [ '*/*', 'text/html; charset=utf-8' ],
    [ 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/html; charset=utf-8' ],
    [ 'application/json', 'application/problem+json' ],
    [ 'application/problem+json', 'application/problem+json' ],
    [ 'text/html;q=0.5, application/json', 'application/problem+json' ],
    [ 'application/json;q=0.5, text/html', 'text/html; charset=utf-8' ],
    [ 'text/plain', 'text/plain; charset=utf-8' ],
    [ 'text/plain, text/html;q=0.2', 'text/plain; charset=utf-8' ],
    [ 'image/png', 'text/html; charset=utf-8' ],
);

plan tests => 2 * @neg + 38;
Test::More->builder->failure_output(\*STDERR);

for my $n (@neg) {
    my ($accept, $ctype) = @$n;
    my $r = req(GET => '/ws-only/', headers => [ defined $accept ? (Accept => $accept) : () ]);
    like $r->{head}, qr{^Content-Type: \Q$ctype\E\r?$}mi,
        'Accept: ' . ($accept // '(none)') . " -> $ctype";
    is_deeply [ header_lines($r->{head}, 'Vary') ], ['Accept'], 'Vary: Accept';
}

# HTML: a proper page, accurate advice, no SSL talk for a websocket URL
my $r = req(GET => '/ws-only/');
like $r->{body}, qr{<title>426 Upgrade Required</title>}, 'HTML page title';
like $r->{body}, qr{only speaks WebSocket: open it with a WebSocket client \(new WebSocket\(&#39;ws://localhost:\d+/ws-only/&#39;\)\)},
    'websocket advice with the ws:// URL';
unlike $r->{body}, qr/SSL/, 'no word of SSL for a websocket URL';
$r = req(GET => '/ws-only/', tls => 1);
like $r->{body}, qr{new WebSocket\(&#39;wss://localhost:\d+/ws-only/&#39;\)}, 'wss:// over TLS';
$r = req(GET => '/tls-any/x?y=1');
like $r->{body}, qr{reconnect over https://localhost/tls-any/x\?y=1}, 'TLS advice with the https:// URL';
$r = req(GET => '/tls13/', tls => 'TLSv1_2');
like $r->{body}, qr{older TLS version: reconnect over https://localhost/tls13/ with TLS 1\.3 or newer},
    'TLS version advice';
$r = req(GET => '/h11/', proto => 'HTTP/1.0');
like $r->{body}, qr{HTTP/1\.1 or newer is required}, 'HTTP version advice';
$r = req(GET => '/h2only/');
like $r->{body}, qr{HTTP/2 is required: use HTTP/2}, 'HTTP/2 advice';
$r = req(GET => '/custom/');
like $r->{body}, qr{Send the request with &#39;Upgrade: foo/2&#39; and &#39;Connection: Upgrade&#39;}, 'generic token advice';
$r = req(GET => '/alt/');
like $r->{body}, qr{WebSocket client.*Or: HTTP/2 is required}s, 'alternatives listed together';
$r = req(GET => '/multi/');
is scalar(() = $r->{body} =~ /<li>/g), 2, 'two unmet requirements, two items';

# an IPv6 literal Host goes back into brackets in the URLs we print
$r = req(GET => '/ws-only/', host => '[::1]:' . t_vars()->{port});
like $r->{body}, qr{new WebSocket\(&#39;ws://\[::1\]:\d+/ws-only/&#39;\)}, 'IPv6 Host: ws://[::1]:port';
$r = req(GET => '/tls-any/', host => '[::1]');
like $r->{body}, qr{reconnect over https://\[::1\]/tls-any/}, 'IPv6 Host: https://[::1]/';

# server signature follows ServerSignature
$r = req(GET => '/sig/');
like $r->{body}, qr{<address>Apache/[\d.]+ .*Server at localhost Port \d+</address>}, 'ServerSignature On: signature';
$r = req(GET => '/ws-only/');
unlike $r->{body}, qr{<address>}, 'ServerSignature Off: none';

# problem+json (RFC 9457)
$r = req(GET => '/multi/', headers => [ Accept => 'application/json' ]);
my $p = eval { JSON::PP->new->decode($r->{body}) };
ok $p, 'valid JSON' or diag $r->{body};
is $p->{status}, 426, 'status member';
is $p->{title}, 'Upgrade Required', 'title member';
is $p->{type}, 'about:blank', 'type member';
like $p->{detail}, qr/https:\/\/.*WebSocket/, 'detail names both requirements';
is_deeply $p->{required}, [ ['TLS/1.2'], ['websocket'] ], 'required protocols, one list per requirement';
is $p->{upgrade}, 'TLS/1.2, HTTP/1.1', 'the advertised Upgrade value';

# a request that reached the rule through a rewrite keeps the negotiated type
$r = req(GET => '/rwsrc/', headers => [ Accept => 'application/json' ]);
like $r->{head}, qr{^Content-Type: application/problem\+json}mi,
    'internally redirected request: problem+json content type';

# plain text
$r = req(GET => '/tls-any/', headers => [ Accept => 'text/plain' ]);
like $r->{body}, qr{\A426 Upgrade Required\n\n- This resource is only served over TLS}, 'plain text body';

# nothing from the request unescaped: path, query, Host
my $evil = '/ws-only/%3Cscript%3Ealert(1)%3C/script%3E%22%27';
for my $accept ('text/html', 'application/json', 'text/plain') {
    $r = req(GET => "$evil?q=<script>'\"", headers => [ Accept => $accept ]);
    is $r->{status}, 426, "hostile path, $accept: still our 426";
    unlike $r->{body}, qr{<script>|alert\(1\)<}i, "hostile path, $accept: no markup";
    # the printed URL carries no quote or bracket of any kind
    my ($url) = $r->{body} =~ m{(ws://localhost:\d+/ws-only/\S*?)(?:&#39;|\\u0027|')\)};
    like $url // '', qr{\A[^'"<>\\]+\z}, "hostile path, $accept: URL inert ($url)";
}
$r = req(GET => '/ws-only/', host => 'evil"><script>x</script>');
isnt $r->{status}, 426, 'a hostile Host is refused by httpd before us';
unlike $r->{body}, qr{<script>x}, 'and never echoed';

# HEAD: headers, no body
$r = req(HEAD => '/ws-only/', headers => [ Accept => 'application/json' ]);
is $r->{status}, 426, 'HEAD -> 426';
like $r->{head}, qr{^Content-Type: application/problem\+json}mi, 'HEAD: negotiated type';
is $r->{body}, '', 'HEAD: no body';
