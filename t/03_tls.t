# TLS family: plaintext is refused with the RFC 2817 advertisement; the
# negotiated version (SSL_PROTOCOL) is compared with TLS/1.x; HTTP/2 over
# TLS counts as TLS.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars curl);
use URReq qw(req expect);

my @cases = (
    # path, tls (0 plain, 1 any, or a forced version), status, Upgrade
    [ '/tls-any/', 0,         426, 'TLS/1.0, HTTP/1.1' ],
    [ '/tls-any/', 1,         200, undef ],
    [ '/tls-any/', 'TLSv1_2', 200, undef ],
    [ '/tls12/',   0,         426, 'TLS/1.2, HTTP/1.1' ],
    [ '/tls12/',   'TLSv1_2', 200, undef ],
    [ '/tls12/',   'TLSv1_3', 200, undef ],
    [ '/tls13/',   0,         426, 'TLS/1.3, HTTP/1.1' ],
    [ '/tls13/',   'TLSv1_2', 426, 'TLS/1.3, HTTP/1.1' ],
    [ '/tls13/',   'TLSv1_3', 200, undef ],
);

plan tests => 3 * @cases + 8;
Test::More->builder->failure_output(\*STDERR);

for my $c (@cases) {
    my ($path, $tls, $status, $upgrade) = @$c;
    my $label = "$path over " . ($tls ? ($tls eq '1' ? 'TLS' : $tls) : 'plaintext');
    my $r = req(GET => $path, tls => $tls);
    expect($r, $label, $status, $upgrade);
    if ($tls && $tls ne '1') {
        is $r->{tls_version}, $tls, "$label: the client really spoke $tls";
    }
    else {
        like $r->{body}, $status == 426 ? qr{https://} : qr/content of/,
            "$label: body";
    }
}

# the body tells the plaintext client where to go, with the real URL
my $r = req(GET => '/tls12/?a=1');
like $r->{body}, qr{reconnect over <a href="https://localhost:@{[ t_vars()->{ssl_port} ]}/tls12/\?a=1">}, 'body names the https:// URL, the TLS vhost\'s port';
unlike $r->{body}, qr/SSL/, "no word of httpd's canned SSL text";

# the version reason and the directive location reach the error log
my $log = URTest::error_log_since(0);
like $log, qr/UR00001: .*unmet requirement 'TLS\/1\.3' \(\S+:\d+\): TLS version too old/,
    'TLS 1.2 client of TLS/1.3 logged with reason';
like $log, qr/UR00001: .*unmet requirement 'TLS' .*plaintext connection/,
    'plaintext client logged with reason';

# HTTP/2 over TLS (ALPN h2, TLS 1.3): the secondary connection is TLS too
my $v = t_vars();
my $out = curl('-i', '--http2', "$v->{ssl_url}/tls13/");
like $out, qr{^HTTP/2 200}m, 'h2 + TLS 1.3 satisfies TLS/1.3';
$out = curl('-i', '--http2', '--tls-max', '1.2', "$v->{ssl_url}/tls13/");
like $out, qr{^HTTP/2 426}m, 'h2 + TLS 1.2 is refused by TLS/1.3';
unlike $out, qr{^upgrade:}mi, 'no Upgrade header over HTTP/2 (RFC 9113 8.2.2)';
$out = curl('-i', '--http2-prior-knowledge', "$v->{url}/tls-any/");
like $out, qr{^HTTP/2 426}m, 'h2c (prior knowledge, plaintext) is refused by TLS';
