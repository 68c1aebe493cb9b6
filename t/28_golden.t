# Golden responses: the exact bytes of our answers (status line, headers,
# body) for every body type, an IPv6 host, odd paths and queries, TLS and
# proxy advice, every ErrorDocument form, HEAD, HTTP/1.0 and the 308
# opt-in, recorded once in t/golden/ and compared on every run.  Only what
# changes between runs is normalised: Date, Server, Last-Modified, ETag,
# the framing (Content-Length, checked first, or chunked), and the ports
# Apache::Test picks.  Any other byte of difference fails,
# so an optimisation of the body code cannot change what clients get.
#
#   UR_GOLDEN_RECORD=1 t/TEST t/28_golden.t    re-record (review the diff!)
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars);
use URReq qw(req);

my $v = t_vars();
my $dir = "$FindBin::Bin/golden";
my @ws = (Upgrade => 'websocket', Connection => 'Upgrade',
          'Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==');
my @cases = (
    # name, method, path, %req
    [ 'tls-html', GET => '/tls-any/page?x=1', {} ],
    [ 'tls-json', GET => '/tls-any/page?x=1', { headers => [ Accept => 'application/json' ] } ],
    [ 'tls-plain', GET => '/tls-any/page?x=1', { headers => [ Accept => 'text/plain' ] } ],
    [ 'tls-json-app', GET => '/tls-any/', { headers => [ Accept => 'application/problem+json;q=0, application/json' ] } ],
    [ 'tls-head', HEAD => '/tls-any/', {} ],
    [ 'tls-http10', GET => '/tls-any/', { proto => 'HTTP/1.0' } ],
    [ 'tls12-plain', GET => '/tls12/', { headers => [ Accept => 'text/plain' ] } ],
    [ 'tls13-over-tls12', GET => '/tls13/', { tls => 'TLSv1_2', headers => [ Accept => 'text/plain' ] } ],
    [ 'ws-plain-get', GET => '/ws-only/', {} ],
    [ 'ws-version-8', GET => '/ws-only/', { headers => [ @ws, 'Sec-WebSocket-Version' => 8, Accept => 'text/plain' ] } ],
    [ 'ws-list', GET => '/ws-only/', { headers => [ Upgrade => 'foo, websocket', @ws[2 .. 5], 'Sec-WebSocket-Version' => 13, Accept => 'application/json' ] } ],
    [ 'ws-tls', GET => '/ws-only/', { tls => 1 } ],
    [ 'multi', GET => '/multi/', {} ],
    [ 'multi-json', GET => '/multi/', { headers => [ Accept => 'application/json' ] } ],
    [ 'h11-http10', GET => '/h11/', { proto => 'HTTP/1.0', headers => [ Accept => 'text/plain' ] } ],
    [ 'h2only', GET => '/h2only/', { headers => [ Accept => 'text/plain' ] } ],
    [ 'h2c-noupgrade', GET => '/h2c-noupgrade/', { headers => [ Accept => 'text/plain' ] } ],
    [ 'h2c-over-tls', GET => '/h2c-only/', { tls => 1, headers => [ Accept => 'text/plain' ] } ],
    [ 'custom', GET => '/custom/', {} ],
    [ 'alt', GET => '/alt/', { headers => [ Accept => 'text/plain' ] } ],
    [ 'ipv6-host', GET => '/ws-only/', { host => '[::1]:' . $v->{port} } ],
    [ 'ipv6-tls-advice', GET => '/tls-any/', { host => '[::1]' } ],
    [ 'odd-path-html', GET => "/ws-only/%3Cscript%3E%22'?q=<b>&r=\"'", {} ],
    [ 'odd-path-json', GET => "/ws-only/a%20b/%E2%82%AC?\x7e&&", { headers => [ Accept => 'application/json' ] } ],
    [ 'proxy-unproven', GET => '/tls12/', { from => '127.0.0.2', headers => [ 'X-Forwarded-Proto' => 'https', Accept => 'text/plain' ] } ],
    [ 'proxy-wss', GET => '/ws-only/', { from => '127.0.0.2', headers => [ 'X-Forwarded-Proto' => 'https' ] } ],
    [ 'sig', GET => '/sig/', {} ],
    [ 'ed-static', GET => '/ed-static/', {} ],
    [ 'ed-string', GET => '/ed-string/', {} ],
    [ 'ed-cgi', GET => '/ed-cgi/', {} ],
    [ 'ed-cgi-200', GET => '/ed-cgi-200/', {} ],
    [ 'ed-proxy', GET => '/ed-proxy/', {} ],
    [ 'ed-proxy-404', GET => '/ed-proxy-404/', {} ],
    [ 'ed-missing', GET => '/ed-missing/', { headers => [ Accept => 'text/plain' ] } ],
    [ 'ed-remote', GET => '/ed-remote/', {} ],
    [ 'ed-unset', GET => '/ed-unset/', {} ],
    [ 'unset-canned', GET => '/unset-canned/', {} ],
    [ 'subrequest-index', GET => '/subreq/', { headers => [ Accept => 'text/plain' ] } ],
    [ 'redirect-308', GET => '/page.html?q=1', { vhost => 'ur_redirect' } ],
    [ 'report-200', GET => '/report/', {} ],
);

# each case once more, twice: the same key's later bodies come from a kept
# template where a child kept one, and must be the same bytes
plan tests => 2 * @cases;
Test::More->builder->failure_output(\*STDERR);

# what differs between runs, and nothing else
sub normalise {
    my ($text, $method) = @_;
    my ($head, $body) = split /\r\n\r\n/, $text, 2;
    $head = join "\r\n", grep { !/^(?:Date|Server|Last-Modified|ETag):/i }
        split /\r\n/, $head;
    # the length follows the ports' digits: checked here, then neutral
    if ($method ne 'HEAD' && $head =~ /^Content-Length: (\d+)\r?$/mi
        && $1 != length($body // '')) {
        return "Content-Length $1 but a body of " . length($body) . " bytes";
    }
    # framing: a CGI's output goes out chunked or with a length, as it
    # happens to arrive; the body (de-chunked by the client) is compared
    $head = join "\r\n", grep { !/^(?:Content-Length|Transfer-Encoding):/i }
        split /\r\n/, $head;
    $text = "$head\r\n\r\n" . ($body // '');
    for my $name (keys %{ Apache::Test::config()->{vhosts} }) {
        my $port = Apache::Test::config()->{vhosts}{$name}{port};
        $text =~ s/(?<=[:\s])\Q$port\E\b/<$name>/g;
    }
    $text =~ s/(?<=[:\s])\Q$v->{port}\E\b/<port>/g;
    $text =~ s{Apache/[\d.]+ \([^)]*\)[^<]*}{APACHE}g;
    return $text;
}

my $record = $ENV{UR_GOLDEN_RECORD};
mkdir $dir if $record && !-d $dir;
for my $c (@cases) {
    my ($name, $method, $path, $opt) = @$c;
    my $r = req($method, $path, %$opt);
    my $got = normalise($r->{head} . $r->{body}, $method);
    my $file = "$dir/$name.txt";
    if ($record) {
        open my $fh, '>', $file or die "$file: $!";
        binmode $fh;
        print $fh $got;
        close $fh;
        pass "$name: recorded";
        pass "$name: recorded (no repeat)";
        next;
    }
    my $want = do { local $/; open my $fh, '<', $file or die "$file: $!"; binmode $fh; <$fh> };
    is $got, $want, "$name: the same bytes as $file";
    my @again = map {
        my $ra = req($method, $path, %$opt);
        normalise($ra->{head} . $ra->{body}, $method);
    } 1 .. 2;
    is_deeply \@again, [ $want, $want ], "$name: again, twice, the same bytes";
}
