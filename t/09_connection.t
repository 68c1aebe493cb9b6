# Connection hygiene after our 426: without an Upgrade header keep-alive
# works and a small request body is discarded, so the next request parses
# cleanly; a chunked body closes the connection unread; a refused request
# that carried Upgrade closes the connection
# (smuggling guard) and nothing pipelined after it is ever answered.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(raw_socket read_response header_lines);

plan tests => 24;
Test::More->builder->failure_output(\*STDERR);

my $smuggled = "GET /index.html?smuggled=1 HTTP/1.1\r\nHost: localhost\r\n\r\n";

# A response, or nothing within $secs: used to prove no extra response.
sub nothing_more {
    my ($s, $secs) = @_;
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    return 1 unless select(my $rout = $rin, undef, undef, $secs);
    my $n = sysread($s, my $buf, 4096);
    return !$n;     # readable only because of EOF is fine
}

sub at_eof {
    my ($s) = @_;
    my $n = eval { local $SIG{ALRM} = sub { die "timeout\n" }; alarm 5;
                   my $r = sysread($s, my $buf, 4096); alarm 0; $r };
    return defined $n && $n == 0;
}

# 1. Content-Length body that looks like a request, then a real request
my $s = raw_socket();
print $s "POST /tls-any/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
       . "Content-Length: " . length($smuggled) . "\r\n\r\n$smuggled"
       . "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
my ($st, $head, $body) = read_response($s);
is $st, 426, 'POST with a Content-Length body -> 426';
unlike join(',', header_lines($head, 'Connection')), qr/close/i, 'connection kept alive';
($st, $head, $body) = read_response($s);
is $st, 200, 'next request on the same connection parsed cleanly';
unlike $head . $body, qr/smuggled/, 'it is the real request, not the body';
ok nothing_more($s, 1), 'the body was never answered as a request';
close $s;

# 2. the same with a chunked body
$s = raw_socket();
my $chunk = sprintf("%x\r\n%s\r\n0\r\n\r\n", length $smuggled, $smuggled);
print $s "POST /tls-any/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n$chunk"
       . "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
# a body of unknown length is never read for a refusal (t/23): the
# connection closes, so neither the body nor what follows is parsed
($st, $head) = read_response($s);
is $st, 426, 'POST with a chunked body -> 426';
like join(',', header_lines($head, 'Connection')), qr/close/i,
    'chunked body: Connection: close';
($st, $head, $body) = read_response($s);
ok !defined $st, 'nothing after it is answered';
ok nothing_more($s, 1), 'no further response';
close $s;

# 3. keep-alive GETs: several 426s on one connection
$s = raw_socket();
print $s "GET /ws-only/ HTTP/1.1\r\nHost: localhost\r\n\r\n" x 3;
my @st = map { (read_response($s))[0] } 1 .. 3;
is_deeply \@st, [426, 426, 426], 'three pipelined 426s on one connection';
close $s;

# 4. refused requests that carry Upgrade close the connection; what the
#    client pipelined after them is never read as HTTP
my @attempts = (
    [ 'websocket with the wrong version', '/ws-only/',
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n" ],
    [ 'websocket to a TLS-only area', '/tls-any/',
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" ],
    [ 'RFC 2817 TLS upgrade offer', '/tls-any/',
      "Upgrade: TLS/1.0\r\nConnection: Upgrade\r\n" ],
    [ 'Upgrade without Connection: upgrade', '/h2only/',
      "Upgrade: h2c\r\n" ],
);
for my $a (@attempts) {
    my ($label, $path, $hdrs) = @$a;
    $s = raw_socket();
    # a TLS ClientHello-looking record, then a request: neither may be parsed
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n$hdrs\r\n"
           . "\x16\x03\x01\x00\x05hello" . $smuggled;
    ($st, $head) = read_response($s);
    is $st, 426, "$label -> 426";
    like join(',', header_lines($head, 'Connection')), qr/\bclose\b/i,
        "$label: Connection: close";
    ok at_eof($s), "$label: connection closed, nothing pipelined answered";
    close $s;
}

# the TLS upgrade attempt is told to reconnect over https:// instead
$s = raw_socket();
print $s "GET /tls-any/page?x=1 HTTP/1.1\r\nHost: localhost\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n";
($st, $head, $body) = read_response($s);
like $body, qr{reconnect over <a href="https://localhost:\d+/tls-any/page\?x=1">}, 'TLS upgrade attempt: body names the https:// URL';
is_deeply [ header_lines($head, 'Upgrade') ], ['TLS/1.0, HTTP/1.1'], 'Upgrade: TLS/1.0, HTTP/1.1';
close $s;
