# Over HTTP/2 our 426 goes out with status and body and no
# connection-specific headers (RFC 9113 8.2.2): real HTTP/2 clients (nghttp,
# curl) on h2c and h2 see a clean stream, no protocol error.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars curl nghttp);

plan tests => 19;
Test::More->builder->failure_output(\*STDERR);

my $v = t_vars();
for my $case ([ 'h2c', $v->{url} ], [ 'h2', $v->{ssl_url} ]) {
    my ($label, $base) = @$case;
    my @tls = $label eq 'h2' ? ('--no-verify-peer') : ();
    my $out = nghttp('-v', @tls, "$base/ws-only/");
    is $? >> 8, 0, "$label: nghttp exits 0 (no protocol error)";
    like $out, qr/:status: 426/, "$label: :status 426";
    unlike $out, qr/^\s*\[[\s\d.]+\] recv \(stream_id=\d+\) (upgrade|connection):/mi,
        "$label: no Upgrade/Connection header on the stream";
    unlike $out, qr/recv (?:RST_STREAM|GOAWAY)|PROTOCOL_ERROR|INTERNAL_ERROR/,
        "$label: the server sent no RST_STREAM or GOAWAY";
    like $out, qr/cache-control: no-store/i, "$label: Cache-Control: no-store";

    $out = curl('-s', '-o', '-', '-w', '\n%{http_version} %{http_code}\n',
                $label eq 'h2' ? '--http2' : '--http2-prior-knowledge',
                '-H', 'Accept: application/json', "$base/ws-only/");
    is $? >> 8, 0, "$label: curl exits 0";
    like $out, qr/^2 426$/m, "$label: curl sees HTTP/2 426";
    like $out, qr/"status":426/, "$label: the problem+json body arrives";
}

# HEAD over h2
my $out = nghttp('-v', '-m', '1', '-H', ':method: HEAD', "$v->{url}/ws-only/");
like $out, qr/:status: 426/, 'h2c HEAD: 426';

# an h2c upgrade offer to a refused URL is answered over HTTP/1.1: no switch
$out = curl('-i', '--http2', "$v->{url}/tls-any/");
like $out, qr{^HTTP/1\.1 426 }m, 'h2c upgrade offer to a refused URL: HTTP/1.1 426, no 101';
unlike $out, qr{^HTTP/1\.1 101 }m, 'no switch to h2c';
