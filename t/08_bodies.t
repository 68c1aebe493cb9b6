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
    # axios: the named types beat the wildcard that reaches HTML
    [ 'application/json, text/plain, */*', 'application/problem+json' ],
    # a type with q=0 is never sent: the same JSON under the other name
    [ 'application/problem+json;q=0, application/json', 'application/json' ],
    [ 'text/html;q=0', 'text/plain; charset=utf-8' ],
);

plan tests => 2 * @neg + 44 + 4 * 15;
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
my $sp = t_vars()->{ssl_port};
$r = req(GET => '/tls-any/x?y=1');
like $r->{body}, qr{reconnect over <a href="https://localhost:$sp/tls-any/x\?y=1">https://localhost:$sp/tls-any/x\?y=1</a>\.},
    'TLS advice: a link to the https:// URL on the TLS vhost\'s port';
$r = req(GET => '/tls13/', tls => 'TLSv1_2');
like $r->{body}, qr{older TLS version \(TLS 1\.2\): reconnect over <a href="https://localhost:$sp/tls13/">https://localhost:$sp/tls13/</a> with TLS 1\.3 or newer},
    'TLS version advice: the version used, the connection\'s own port';
like $r->{body}, qr{This connection uses TLS 1\.2; TLS 1\.3 or newer is required\.},
    'and the reason, with both versions';
$r = req(GET => '/h11/', proto => 'HTTP/1.0');
like $r->{body}, qr{HTTP/1\.1 or newer is required}, 'HTTP version advice';
$r = req(GET => '/h2only/');
like $r->{body}, qr{HTTP/2 is required: upgrade this connection with &#39;Upgrade: h2c&#39;}, 'HTTP/2 advice: the h2c upgrade this server performs';
$r = req(GET => '/custom/');
like $r->{body}, qr{Send the request with &#39;Upgrade: foo/2&#39; \(that token alone\) and &#39;Connection: Upgrade&#39;}, 'generic token advice';
$r = req(GET => '/alt/');
like $r->{body}, qr{WebSocket client[^\n]*Or: HTTP/2 is required}, 'alternatives listed together';
$r = req(GET => '/multi/');
is scalar(() = $r->{body} =~ /<li>/g), 2, 'two unmet requirements, two items';

# an IPv6 literal Host goes back into brackets in the URLs we print
$r = req(GET => '/ws-only/', host => '[::1]:' . t_vars()->{port});
like $r->{body}, qr{new WebSocket\(&#39;ws://\[::1\]:\d+/ws-only/&#39;\)}, 'IPv6 Host: ws://[::1]:port';
$r = req(GET => '/tls-any/', host => '[::1]');
like $r->{body}, qr{reconnect over <a href="https://\[::1\]:$sp/tls-any/">}, 'IPv6 Host: https://[::1]:port/ (the TLS twin of the serving vhost)';

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
like $r->{body}, qr{\A426 Upgrade Required\n\nThe request came over plaintext HTTP\.\n\n- This resource is only served over TLS: reconnect over https://localhost:$sp/tls-any/\.\n\z}, 'plain text body: reason, then the advice';

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

# ---- the real reason, in every body type and as a problem+json member ----
my $key = 'dGhlIHNhbXBsZSBub25jZQ==';
my @wsh = (Upgrade => 'websocket', Connection => 'Upgrade',
           'Sec-WebSocket-Key' => $key);
my @h2c = (Upgrade => 'h2c', Connection => 'Upgrade, HTTP2-Settings',
           'HTTP2-Settings' => 'AAMAAABkAAQAAP__');
my @why = (
    # label, method, path, %req, reason (a regex, matched in plain text)
    [ 'WebSocket version 8', GET => '/ws-only/', { headers => [ @wsh, 'Sec-WebSocket-Version' => 8 ] },
      qr/The WebSocket handshake asked for Sec-WebSocket-Version: 8; this server speaks version 13/ ],
    [ 'WebSocket version missing', GET => '/ws-only/', { headers => \@wsh },
      qr/The WebSocket handshake had no Sec-WebSocket-Version; this server speaks version 13/ ],
    [ 'WebSocket POST', POST => '/ws-only/', { headers => [ @wsh, 'Sec-WebSocket-Version' => 13 ], body => '' },
      qr/The WebSocket handshake was a POST; it must be a GET/ ],
    [ 'WebSocket key missing', GET => '/ws-only/', { headers => [ @wsh[0 .. 3], 'Sec-WebSocket-Version' => 13 ] },
      qr/The WebSocket handshake had no Sec-WebSocket-Key/ ],
    [ 'WebSocket key malformed', GET => '/ws-only/', { headers => [ @wsh[0 .. 3], 'Sec-WebSocket-Key' => 'short', 'Sec-WebSocket-Version' => 13 ] },
      qr/Sec-WebSocket-Key is malformed: it must be base64 of 16 random bytes/ ],
    [ 'Upgrade as a list', GET => '/ws-only/', { headers => [ Upgrade => 'foo, websocket', @wsh[2 .. 5], 'Sec-WebSocket-Version' => 13 ] },
      qr/The request sent 'Upgrade: foo, websocket'; the upgrade is performed only when the whole value is 'websocket'/ ],
    [ 'no Connection: upgrade', GET => '/ws-only/', { headers => [ Upgrade => 'websocket' ] },
      qr/sent 'Upgrade: websocket' but its Connection header does not list 'upgrade'/ ],
    [ 'HTTP/1.0 Upgrade', GET => '/ws-only/', { proto => 'HTTP/1.0', headers => [ @wsh, 'Sec-WebSocket-Version' => 13 ] },
      qr/The request used HTTP\/1\.0, where an Upgrade header is ignored \(RFC 9110 7\.8\)/ ],
    [ 'h2c without HTTP2-Settings', GET => '/h2c-only/', { headers => [ @h2c[0 .. 3] ] },
      qr/h2c offer had no HTTP2-Settings header/ ],
    [ 'h2c with a body', POST => '/h2c-only/', { headers => \@h2c, body => 'hello' },
      qr/h2c offer carried a request body/ ],
    [ 'h2c as H2C', GET => '/h2c-only/', { headers => [ Upgrade => 'H2C', @h2c[2 .. 5] ] },
      qr/h2c offer is not a well-formed upgrade/ ],
    [ 'h2c where H2Upgrade is off', GET => '/h2c-noupgrade/', { headers => \@h2c },
      qr/offered h2c, but this server does not upgrade to h2c here/ ],
    [ 'h2c over TLS', GET => '/h2c-only/', { tls => 1, headers => \@h2c },
      qr/offered h2c over TLS, where it does not exist/ ],
    [ 'TLS too old', GET => '/tls13/', { tls => 'TLSv1_2' },
      qr/This connection uses TLS 1\.2; TLS 1\.3 or newer is required/ ],
    [ 'HTTP/1.0 to HTTP/1.1 area', GET => '/h11/', { proto => 'HTTP/1.0' },
      qr/The request used HTTP\/1\.0; HTTP\/1\.1 or newer is required/ ],
);
for my $c (@why) {
    my ($label, $method, $path, $opt, $want) = @$c;
    my %o = %$opt;
    my $h = $o{headers} || [];
    my $t = req($method, $path, %o, headers => [ @$h, Accept => 'text/plain' ]);
    like $t->{body}, qr/\A426 Upgrade Required\n\n[^\n]*$want/, "$label: plain text reason";
    my $j = req($method, $path, %o, headers => [ @$h, Accept => 'application/json' ]);
    my $pj = eval { JSON::PP->new->decode($j->{body}) } || {};
    like $pj->{reason} // '', $want, "$label: problem+json reason member";
    like $pj->{detail} // '', $want, "$label: ... and in detail";
    my $hb = req($method, $path, %o, headers => $h);
    my $want_html = $want =~ s/'/&#39;/gr;
    like $hb->{body}, qr/<p>This resource cannot be served [^<]*$want_html/, "$label: HTML reason";
}

# wss://, not ws://, wherever TLS is required too: on plaintext the URL
# of the TLS vhost
$r = req(GET => '/multi/');
like $r->{body}, qr{new WebSocket\(&#39;wss://localhost:$sp/multi/&#39;\)},
    'TLS/1.2 + websocket over plaintext: wss:// on the TLS port';
# h2c over TLS: never advertised, the advice is h2 by ALPN
$r = req(GET => '/h2c-only/', tls => 1);
is_deeply $r->{upgrade}, ['HTTP/2.0'], 'h2c area over TLS: Upgrade names HTTP/2.0, not h2c';
like $r->{body}, qr{h2c does not exist over TLS \(RFC 9113 3\): reconnect to <a href="https://localhost:$sp/h2c-only/">.*offering h2 in TLS ALPN}s,
    'and the body says to use h2 through ALPN';
# after an internal redirect (mod_rewrite) the URL the client asked for
$r = req(GET => '/rwsrc/?q=1');
like $r->{body}, qr{<a href="https://localhost:$sp/rwsrc/\?q=1">},
    'the URL the client asked for, not the rewrite target';
unlike $r->{body}, qr{/tls-any/index\.html}, 'the internal target is not shown';
