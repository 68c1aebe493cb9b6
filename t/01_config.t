# Bad configuration makes "httpd -t" fail with a message naming the
# directive, the argument and what is allowed; good configuration passes.
# Each case is a small config of its own, checked by the real httpd binary.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(httpd_check directive_contexts);

my $ALLOWED = q{(allowed: TLS, TLS/1.0, TLS/1.1, TLS/1.2, TLS/1.3)};
my @cases = (
    # label, config lines, expected message (undef: Syntax OK)
    [ 'every token family', "UpgradeRequire websocket TLS/1.2 HTTP/2 h2c foo/1.0\n"
      . "UpgradeRequire HTTP/1.1\nUpgradeRequireMode report", undef ],
    [ 'off alone', 'UpgradeRequire off', undef ],
    [ 'trusted proxies', 'UpgradeRequireTrustedProxy 10.0.0.0/8 192.0.2.1 2001:db8::/32', undef ],
    [ 'unknown TLS version', 'UpgradeRequire TLS/2.0',
      "UpgradeRequire: unknown TLS version 'TLS/2.0' $ALLOWED" ],
    [ 'TLS/1.4', 'UpgradeRequire websocket TLS/1.4',
      "UpgradeRequire: unknown TLS version 'TLS/1.4' $ALLOWED" ],
    [ 'HTTP/3', 'UpgradeRequire HTTP/3',
      "UpgradeRequire: unsupported HTTP version 'HTTP/3': httpd cannot serve HTTP/3 (allowed: HTTP/1.1, HTTP/2.0, HTTP/2)" ],
    [ 'HTTP/1.0', 'UpgradeRequire HTTP/1.0',
      "UpgradeRequire: unsupported HTTP version 'HTTP/1.0' (allowed: HTTP/1.1, HTTP/2.0, HTTP/2)" ],
    [ 'off mixed with protocols', 'UpgradeRequire websocket off',
      "UpgradeRequire: 'off' cannot be combined with protocols (allowed: 'UpgradeRequire off' alone, or a list of protocols)" ],
    [ 'duplicate token', 'UpgradeRequire websocket WebSocket',
      "UpgradeRequire: duplicate protocol 'WebSocket' (already given as 'websocket' on this line; each alternative may appear once)" ],
    [ 'duplicate via alias', 'UpgradeRequire HTTP/2 HTTP/2.0',
      "UpgradeRequire: duplicate protocol 'HTTP/2.0' (already given as 'HTTP/2' on this line; each alternative may appear once)" ],
    [ 'invalid characters', 'UpgradeRequire web<socket',
      "UpgradeRequire: invalid protocol token 'web<socket': character '<' at position 4 (allowed: a name or name/version made of letters, digits and !#\$%&'*+-.^_`|~, RFC 9110 7.8)" ],
    # long arguments: the limit is named, at most 64 bytes are quoted, so
    # httpd's 8 KB message limit never cuts the reason off
    [ 'a 100 KB token', 'UpgradeRequire ' . ('a' x 102400),
      "UpgradeRequire: protocol token '" . ('a' x 64) . "...' is 102400 bytes long (allowed: at most 255)" ],
    [ 'a 256-byte token', 'UpgradeRequire ' . ('b' x 256),
      "UpgradeRequire: protocol token '" . ('b' x 64) . "...' is 256 bytes long (allowed: at most 255)" ],
    [ 'a 255-byte token', 'UpgradeRequire ' . ('c' x 255), undef ],
    [ 'a bad byte deep in a long token', 'UpgradeRequire ' . ('d' x 200) . '<x',
      "UpgradeRequire: invalid protocol token '" . ('d' x 64) . "...': character '<' at position 201 (allowed: a name or name/version made of letters, digits and !#\$%&'*+-.^_`|~, RFC 9110 7.8)" ],
    # (httpd's log escapes our backslash once more)
    [ 'a control byte', "UpgradeRequire we\x01b",
      "UpgradeRequire: invalid protocol token 'we\\\\x01b': character '\\\\x01' at position 3 (allowed: a name or name/version made of letters, digits and !#\$%&'*+-.^_`|~, RFC 9110 7.8)" ],
    [ 'a huge Upgrade value', 'UpgradeRequire ' . join(' ', map { "p$_/" . ('v' x 200) } 1 .. 12),
      qr/^UpgradeRequire: the Upgrade header of this line would be \d+ bytes long \(allowed: at most 2048; fewer or shorter alternatives\)$/m ],
    [ 'a long mode', 'UpgradeRequireMode ' . ('x' x 5000),
      "UpgradeRequireMode: unknown mode '" . ('x' x 64) . "...' (allowed: enforce, report)" ],
    [ 'empty version', 'UpgradeRequire foo/',
      "UpgradeRequire: invalid protocol token 'foo/' (a name or name/version, RFC 9110 7.8)" ],
    [ 'no argument', 'UpgradeRequire',
      "UpgradeRequire: no protocol given (allowed: 'off', or one or more of websocket, TLS, TLS/1.0..TLS/1.3, HTTP/1.1, HTTP/2, h2c, or another upgrade token)" ],
    [ 'h2 is ALPN', 'UpgradeRequire h2',
      "UpgradeRequire: 'h2' is chosen by TLS ALPN, never by Upgrade (allowed: HTTP/2 for any HTTP/2, h2c for cleartext HTTP/2)" ],
    [ 'off after rules in one section', "<Location /x>\nUpgradeRequire TLS\nUpgradeRequire off\n</Location>",
      qr/UpgradeRequire: 'off' after requirements in the same section \(line \d+\) would silently drop them \(allowed: 'off' alone in a section\)/ ],
    [ 'rules after off in one section', "<Location /x>\nUpgradeRequire off\nUpgradeRequire TLS\n</Location>",
      "UpgradeRequire: requirements after 'UpgradeRequire off' in the same section (allowed: 'off' alone in a section)" ],
    [ 'unknown mode', 'UpgradeRequireMode maybe',
      "UpgradeRequireMode: unknown mode 'maybe' (allowed: enforce, report)" ],
    [ 'bad proxy address', 'UpgradeRequireTrustedProxy 10.0.0.0/33',
      "UpgradeRequireTrustedProxy: invalid address '10.0.0.0/33' (allowed: an IPv4 or IPv6 address, optionally /mask or /prefix length)" ],
    # trust is declared server config / vhost only: httpd itself refuses it
    [ 'proxy trust in a directory', "<Directory /tmp>\nUpgradeRequireTrustedProxy 10.0.0.1\n</Directory>",
      qr/UpgradeRequireTrustedProxy not allowed in <(?:Directory|Location)> context/ ],
    [ 'proxy trust in a location', "<Location /x>\nUpgradeRequireTrustedProxy 10.0.0.1\n</Location>",
      qr/UpgradeRequireTrustedProxy not allowed in <(?:Directory|Location)> context/ ],
    [ 'proxy headers in a vhost', "<VirtualHost 127.0.0.1:9>\nUpgradeRequireTrustedProxy 10.0.0.1\n"
      . "UpgradeRequireProxySchemeHeader X-Forwarded-Ssl on\nUpgradeRequireProxyTLSVersionHeader X-Amzn-Tls-Version\n</VirtualHost>", undef ],
    [ 'proxy scheme header Forwarded', "UpgradeRequireProxySchemeHeader Forwarded\nUpgradeRequireProxyTLSVersionHeader none", undef ],
    [ 'proxy scheme header in a directory', "<Directory /tmp>\nUpgradeRequireProxySchemeHeader Forwarded\n</Directory>",
      qr/UpgradeRequireProxySchemeHeader not allowed in <Directory> context/ ],
    [ 'bad proxy scheme header name', 'UpgradeRequireProxySchemeHeader X-Forwarded:Proto',
      "UpgradeRequireProxySchemeHeader: invalid header name 'X-Forwarded:Proto' (allowed: a header field name, RFC 9110 token characters)" ],
    [ 'proxy scheme header, three words', 'UpgradeRequireProxySchemeHeader X-Forwarded-Proto https yes',
      "UpgradeRequireProxySchemeHeader: takes a header name and optionally the value that means TLS, 3 given (allowed: X-Forwarded-Proto, Forwarded, or another header [value], value default https)" ],
    [ 'proxy version header, two words', 'UpgradeRequireProxyTLSVersionHeader X-A X-B',
      "UpgradeRequireProxyTLSVersionHeader: takes one argument, 2 given (allowed: a header name such as X-Amzn-Tls-Version, or none)" ],
    [ 'lock on', "<Location /x>\nUpgradeRequire TLS\nUpgradeRequireLock on\n</Location>", undef ],
    [ 'lock maybe', 'UpgradeRequireLock maybe', "UpgradeRequireLock: unknown value 'maybe' (allowed: on, off)" ],

    # httpd has no trailing comments: every word would be an argument
    [ 'trailing comment on UpgradeRequire', 'UpgradeRequire TLS   # only https, see ticket 42',
      "UpgradeRequire: argument '#' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],
    [ 'comment glued to the word', 'UpgradeRequire TLS #only-https',
      "UpgradeRequire: argument '#only-https' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],
    [ 'trailing comment on UpgradeRequireMode', 'UpgradeRequireMode report # week 1',
      "UpgradeRequireMode: argument '#' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],
    [ 'trailing comment on UpgradeRequireLock', 'UpgradeRequireLock on # shared hosting',
      "UpgradeRequireLock: argument '#' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],
    [ 'trailing comment on UpgradeRequireTrustedProxy', 'UpgradeRequireTrustedProxy 10.0.0.0/8 # the LB',
      "UpgradeRequireTrustedProxy: argument '#' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],
    [ 'trailing comment on UpgradeRequireProxySchemeHeader', 'UpgradeRequireProxySchemeHeader X-Forwarded-Proto #alb',
      "UpgradeRequireProxySchemeHeader: argument '#alb' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],
    [ 'trailing comment on UpgradeRequireProxyTLSVersionHeader', 'UpgradeRequireProxyTLSVersionHeader X-Amzn-Tls-Version # alb',
      "UpgradeRequireProxyTLSVersionHeader: argument '#' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],
    [ 'trailing comment on UpgradeRequireServerStatus', 'UpgradeRequireServerStatus off # quiet',
      "UpgradeRequireServerStatus: argument '#' starts a comment, but httpd has no trailing comments: every word after the directive is an argument (allowed: the comment on a line of its own)" ],

    # the counters' mod_status section is server-wide, like the counters
    [ 'server status off', 'UpgradeRequireServerStatus off', undef ],
    [ 'server status, bad value', 'UpgradeRequireServerStatus yes',
      "UpgradeRequireServerStatus: unknown value 'yes' (allowed: on, off)" ],
    [ 'server status, two words', 'UpgradeRequireServerStatus on off',
      "UpgradeRequireServerStatus: takes one argument, 2 given (allowed: on, off)" ],
    [ 'server status in a vhost', "<VirtualHost 127.0.0.1:9>\nUpgradeRequireServerStatus off\n</VirtualHost>",
      qr/UpgradeRequireServerStatus cannot occur within <VirtualHost> section/ ],
    [ 'a comment line is fine', "# UpgradeRequire TLS # whatever\nUpgradeRequire TLS", undef ],

    # near-misses of the known tokens, each with the right spelling
    (map { [ "near-miss $_->[0]", "UpgradeRequire $_->[0]",
             qr/^UpgradeRequire: unknown protocol '\Q$_->[0]\E', did you mean '\Q$_->[1]\E'\?/m ] }
     [ 'TSL', 'TLS' ], [ 'websockets', 'websocket' ], [ 'TLSv1.2', 'TLS/1.2' ],
     [ 'TLS1.2', 'TLS/1.2' ], [ 'websocket/13', 'websocket' ], [ 'h2c/1', 'h2c' ],
     [ 'http2', 'HTTP/2' ], [ 'HTTP2', 'HTTP/2' ], [ 'https', 'TLS' ], [ 'ssl', 'TLS' ],
     [ 'ws', 'websocket' ], [ 'wss', 'websocket' ]),
    [ 'near-miss message in full', 'UpgradeRequire TLSv1.2',
      "UpgradeRequire: unknown protocol 'TLSv1.2', did you mean 'TLS/1.2'? (a token that resembles websocket, TLS, TLS/1.x, HTTP/1.1, HTTP/2 or h2c is refused rather than matched as an upgrade token of its own)" ],
    [ 'a version on websocket', 'UpgradeRequire websocket/13',
      "UpgradeRequire: unknown protocol 'websocket/13', did you mean 'websocket'? A websocket offer has no version: RFC 6455 sends it as Sec-WebSocket-Version: 13. (a token that resembles websocket, TLS, TLS/1.x, HTTP/1.1, HTTP/2 or h2c is refused rather than matched as an upgrade token of its own)" ],
    [ 'generic tokens of their own', 'UpgradeRequire foo/2 IRC/6.9', undef ],

    # the same line twice in one section
    [ 'identical line twice', "<Location /x>\nUpgradeRequire TLS\nUpgradeRequire TLS\n</Location>",
      qr/UpgradeRequire: the same requirement 'TLS' is already on line \d+ of this section \(allowed: each requirement once per section\)/ ],
    [ 'same alternatives in another order', "<Location /x>\nUpgradeRequire websocket h2c\nUpgradeRequire h2c WebSocket\n</Location>",
      qr/UpgradeRequire: the same requirement 'websocket or h2c' is already on line \d+/ ],
    [ 'same line in two sections', "<Location /x>\nUpgradeRequire TLS\n</Location>\n<Location /y>\nUpgradeRequire TLS\n</Location>", undef ],
    [ 'two TLS versions on two lines', "<Location /x>\nUpgradeRequire TLS\nUpgradeRequire TLS/1.2\n</Location>", undef ],
);

plan tests => 2 * @cases + 5;
Test::More->builder->failure_output(\*STDERR);

for my $c (@cases) {
    my ($label, $lines, $want) = @$c;
    my ($status, $out) = httpd_check($lines);
    if (!defined $want) {
        is $status, 0, "$label: httpd -t accepts it";
        like $out, qr/Syntax OK/, "$label: Syntax OK";
    }
    else {
        isnt $status, 0, "$label: httpd -t fails";
        if (ref $want) {
            like $out, $want, "$label: message";
        }
        else {
            utf8::encode(my $bytes = $want);
            like $out, qr/^\Q$bytes\E$/m, "$label: exact message";
        }
    }
}

# "httpd -L" tells admins where each directive may go, from the command
# table itself: the proxy directives are server config and vhost only,
# UpgradeRequire and UpgradeRequireMode are allowed in .htaccess
# (AuthConfig), UpgradeRequireLock is not.
my %where = %{ directive_contexts() };
for my $d (qw(UpgradeRequireTrustedProxy UpgradeRequireProxySchemeHeader
              UpgradeRequireProxyTLSVersionHeader)) {
    like $where{$d} // '', qr/^Allowed in \*\.conf only outside <Directory>, <Files>, <Location>, or <If>$/,
        "httpd -L: $d is server config / vhost only";
}
like $where{UpgradeRequire} // '', qr/^Allowed in \*\.conf anywhere and in \.htaccess$/,
    'httpd -L: UpgradeRequire is allowed in .htaccess';
like $where{UpgradeRequireLock} // '', qr/^Allowed in \*\.conf anywhere$/,
    'httpd -L: UpgradeRequireLock is not allowed in .htaccess';
