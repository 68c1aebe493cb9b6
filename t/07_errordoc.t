# ErrorDocument 426 in every form keeps status 426, serves the site's page
# and still carries exactly one Upgrade line and Connection: Upgrade, even
# where the error page, a CGI or "Header always unset" removed or replaced
# them, and even with mod_http2's own "Upgrade: h2c" advertisement.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(header_lines error_log_size error_log_since t_vars);
use URReq qw(req);

my @forms = (
    # label, path, body regex
    [ 'static file', '/ed-static/', qr/site-426-page static/ ],
    [ 'quoted string', '/ed-string/', qr/\Asite-426-page string\z/ ],
    [ 'CGI (mod_cgid)', '/ed-cgi/', qr/site-426-page cgi REDIRECT_STATUS=426 REDIRECT_URL=\/ed-cgi\/ REDIRECT_UPGRADE_REQUIRED=websocket/ ],
    [ 'CGI answering Status: 200', '/ed-cgi-200/', qr/site-426-page cgi-200/ ],
    [ 'proxied URL', '/ed-proxy/', qr/site-426-page static/ ],
    [ 'error page with Header always unset', '/ed-unset/', qr/site-426-page unset/ ],
    [ 'error page under a TLS-only path', '/ed-strict/', qr/site-426-page strict/ ],
    [ 'missing file (recursive error)', '/ed-missing/', qr/only speaks WebSocket/ ],
    [ 'canned body with Header always unset', '/unset-canned/', qr/only speaks WebSocket/ ],
);

plan tests => 6 * @forms * 2 + 13;
Test::More->builder->failure_output(\*STDERR);

for my $tls (0, 1) {
    for my $f (@forms) {
        my ($label, $path, $body) = @$f;
        $label .= ' (TLS)' if $tls;
        # keep-alive and first request on the connection: that is when
        # mod_http2 adds its own "Upgrade: h2c" offer on the plain port
        my $r = req(GET => $path, tls => $tls,
                    headers => [ Connection => 'keep-alive' ]);
        is $r->{status}, 426, "$label: status 426";
        like $r->{body}, $body, "$label: the page";
        is_deeply $r->{upgrade}, ['websocket'], "$label: exactly one Upgrade: websocket";
        is scalar @{ $r->{connection} }, 1, "$label: one Connection line";
        like $r->{connection}[0] // '', qr/(^|,\s*)Upgrade(\s*,|$)/i,
            "$label: Connection lists Upgrade";
        is_deeply [ header_lines($r->{head}, 'Cache-Control') ], ['no-store'],
            "$label: one Cache-Control: no-store";
    }
}

# site pages are not ours: no Vary: Accept, their own Content-Type
my $r = req(GET => '/ed-string/');
like $r->{head}, qr{^Content-Type: text/html; charset=iso-8859-1\r?$}mi,
    'quoted string: httpd content type kept';
unlike $r->{head}, qr/^Vary:.*Accept/mi, 'quoted string: no Vary: Accept (not negotiated)';
$r = req(GET => '/ed-cgi/');
like $r->{head}, qr{^Content-Type: text/plain\r?$}mi, 'CGI content type kept';
ok !(grep { /bogus-from-cgi/ } @{ $r->{upgrade} }), "the CGI's own Upgrade line is gone";

# the recursive error gets our negotiated body, not httpd's SSL text
$r = req(GET => '/ed-missing/', headers => [ Accept => 'application/json' ]);
like $r->{head}, qr{^Content-Type: application/problem\+json}mi,
    'missing error page: our negotiated body instead';
unlike $r->{body}, qr/SSL/, 'never the canned SSL text';

# HEAD: status and headers, no body
$r = req(HEAD => '/ed-static/');
is $r->{status}, 426, 'HEAD with ErrorDocument: 426';
is_deeply $r->{upgrade}, ['websocket'], 'HEAD: Upgrade';
is $r->{body}, '', 'HEAD: no body';

# a remote ErrorDocument turns 426 into 302 (httpd); warned at startup with
# the directive's place, noted per request
my $off = error_log_size();
$r = req(GET => '/ed-remote/');
is $r->{status}, 302, 'remote-URL ErrorDocument: httpd answers 302';
like error_log_since($off, qr/UR00003/), qr/UR00003: ErrorDocument 426 for \/ed-remote\/ is a remote URL/,
    'per-request note (info)';
my $all = error_log_since(0);
like $all, qr/\[upgrade_required:warn\].*UR00004: ErrorDocument 426 http:\/\/example\.invalid\/426\.html \(\S+upgrade\.conf:\d+\) is a remote URL/,
    'startup warning names the directive location';

# serving our ErrorDocument never triggers a second 426 of ours
$off = error_log_size();
req(GET => '/ed-strict/');
my $log = error_log_since($off, qr/UR00001/);
is scalar(() = $log =~ /UR00001/g), 1, 'one 426 decision for the ErrorDocument chain';
