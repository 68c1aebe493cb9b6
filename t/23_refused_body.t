# A refused request that announces a body gets its 426 at once: httpd
# would otherwise read and discard the body (up to LimitRequestBody)
# before the response leaves its buffers.  Small bodies are read and
# dropped, so keep-alive works; large, chunked and 100-continue bodies are
# never read and the connection closes; no 100 Continue is sent; an
# ErrorDocument CGI never sees the refused body; HTTP/2 too.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars raw_socket read_response header_lines capture);
use File::Temp qw(tempfile);
use Time::HiRes qw(time);

plan tests => 25;
Test::More->builder->failure_output(\*STDERR);
$SIG{PIPE} = 'IGNORE';

my $v = t_vars();

# true when the server closed the connection (EOF within 5 s)
sub closed {
    my $s = shift;
    my $buf;
    my $n = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 5;
        my $r = sysread($s, $buf, 1);
        alarm 0;
        $r;
    };
    return defined $n && $n == 0;
}

sub head_of {
    my ($method, $path, @h) = @_;
    return "$method $path HTTP/1.1\r\nHost: localhost\r\n"
        . join('', map { "$_\r\n" } @h) . "\r\n";
}

# ---- a withheld large body: the 426 comes at once, then the close ------
my $s = raw_socket();
my $t0 = time;
print $s head_of(POST => '/tls-any/', 'Content-Length: 100000000');
my ($st, $head, $body) = read_response($s, timeout => 10);
is $st, 426, 'Content-Length: 100000000, body withheld: 426';
ok time - $t0 < 5, 'at once, not after reading or timing out';
is_deeply [ header_lines($head, 'Upgrade') ], ['TLS/1.0, HTTP/1.1'],
    'with its Upgrade header';
like join(',', header_lines($head, 'Connection')), qr/close/i,
    'Connection: close announced';
ok closed($s), 'and the connection is closed, the body never read';
close $s;

# ---- a 100 MB body being sent ------------------------------------------
$s = raw_socket();
print $s head_of(POST => '/tls-any/', 'Content-Length: 104857600');
my $chunk = 'x' x 65536;
my $pid = fork // die "fork: $!";
unless ($pid) {
    # the client keeps sending until the server closes on it
    for (1 .. 1600) { last unless defined syswrite($s, $chunk) }
    POSIX::_exit(0);
}
$t0 = time;
($st, $head) = read_response($s, timeout => 10);
is $st, 426, '100 MB body being sent: 426';
ok time - $t0 < 5, 'before the body is read';
ok closed($s), 'then the close';
kill 'TERM', $pid;
waitpid $pid, 0;
close $s;

# ---- chunked ------------------------------------------------------------
$s = raw_socket();
print $s head_of(POST => '/tls-any/', 'Transfer-Encoding: chunked'), "5\r\nhello\r\n";
($st, $head) = read_response($s, timeout => 10);
is $st, 426, 'chunked body, last chunk never sent: 426';
ok closed($s), 'chunked: the connection is closed';
close $s;

# ---- Expect: 100-continue: no 100, the 426 instead ------------------------
$s = raw_socket();
print $s head_of(POST => '/tls-any/', 'Content-Length: 1000', 'Expect: 100-continue');
($st, $head) = read_response($s, timeout => 10);
is $st, 426, 'Expect: 100-continue: the 426 is the first response';
unlike $head, qr/\A HTTP\/1\.1\ 100/x, 'no 100 Continue before it';
ok closed($s), 'the unsent body is never awaited: close';
close $s;

# ---- a small body: read, dropped, the connection stays usable ------------
$s = raw_socket();
print $s head_of(POST => '/tls-any/', 'Content-Length: 11'), 'hello world';
($st, $head) = read_response($s, timeout => 10);
is $st, 426, 'small body: 426';
unlike join(',', header_lines($head, 'Connection')), qr/close/i,
    'small body: keep-alive';
print $s head_of(GET => '/index.html', 'Connection: close');
($st, $head, $body) = read_response($s, timeout => 10);
is $st, 200, 'the next request on the connection is parsed cleanly';
like $body, qr/\S/, 'and answered';
close $s;

# ---- an ErrorDocument CGI never sees the refused body -----------------------
my %seen;
for my $i (1 .. 200) {
    # every other one small (read and dropped), the rest large (never read)
    my $len = $i % 2 ? 2000 : 200_000;
    my $c = raw_socket();
    print $c head_of(POST => '/ed-cgi/', "Content-Length: $len", 'Connection: close');
    my $pay = 'y' x $len;
    syswrite($c, $pay) if $len <= 2000;
    my ($cst, undef, $cbody) = eval { read_response($c, timeout => 10) };
    $seen{$cst // 'none'}++;
    $seen{cgi}++ if ($cbody // '') =~ /^site-426-page cgi REDIRECT_STATUS=426/;
    close $c;
}
is $seen{426} // 0, 200, '200 POSTs with bodies to a CGI ErrorDocument: 200 426s'
    or diag explain \%seen;
is $seen{cgi} // 0, 200, 'each with the CGI page';

# ---- HTTP/2 with a body ---------------------------------------------------
# a large body: the 426, then RST_STREAM NO_ERROR (RFC 9113 8.1) ends the
# upload; the connection stays (nghttp reads that as intended)
my ($fh, $file) = tempfile(UNLINK => 1);
print $fh 'z' x (4 * 1024 * 1024);
close $fh;
$t0 = time;
my $out = URTest::nghttp('-v', '-d', $file, "$v->{url}/tls-any/");
like $out, qr/recv \(stream_id=\d+\) :status: 426/, 'HTTP/2 (h2c) with a 4 MB body: 426';
like $out, qr/RST_STREAM.*\n\s*\(error_code=NO_ERROR/, 'then RST_STREAM NO_ERROR for the unread body';
ok time - $t0 < 10, 'without waiting for the body';
# a small body is read first: no reset, which curl 7.88 takes for an error
my ($sfh, $small) = tempfile(UNLINK => 1);
print $sfh 'z' x 100;
close $sfh;
my $ok = 0;
for (1 .. 10) {
    $out = capture('curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
                   '--max-time', '10', '--http2-prior-knowledge',
                   '--data-binary', "\@$small", "$v->{url}/multi/");
    $ok++ if $out eq '426';
}
is $ok, 10, 'HTTP/2 with a 100-byte body, 10 times with curl: 10 clean 426s';

# ---- body-less requests keep alive as before -----------------------------
$s = raw_socket();
print $s head_of(GET => '/tls-any/');
($st, $head) = read_response($s, timeout => 10);
is $st, 426, 'GET without a body: 426';
unlike join(',', header_lines($head, 'Connection')), qr/close/i,
    'and keep-alive';
close $s;
