# Nothing from the request reaches a 426 body unescaped, whatever the
# parser lets through.  On the vhost with "HttpProtocolOptions Unsafe"
# (t/conf/boundary.conf.in) httpd hands the module Host values with control
# bytes, invalid and valid UTF-8, quotes and markup, and request targets
# with raw 8-bit bytes.  Every body type (HTML, problem+json, plain text)
# must stay ASCII without control bytes, HTML must carry no markup from the
# request, and the JSON must parse as UTF-8 with a clean "detail".
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use JSON::PP ();
use URTest qw(raw_socket raw_exchange);

# What httpd 2.4 does under Unsafe, found by sending each of them (the main
# port, strict, answers 400 to every Host below but "localhost"):
#  - Host: \x01 \x1b \x7f \t, \xff, \xc3\x28, UTF-8, " < > & ' all reach
#    the module (lower-cased, otherwise as sent); a backslash (or a slash)
#    in Host is a 400 from vhost.c before any module runs.
#  - request target: \x01 \x1b \x7f anywhere in path or query are a 400 from
#    the request-line parser even under Unsafe; raw \xff, \xc3\x28, UTF-8,
#    " < > & \ ' in path and query reach the module.
# Only what reaches the module is asserted below.
my @hosts = (
    "a\x01b",                   # SOH
    "a\x1bb",                   # ESC
    "a\x7fb",                   # DEL
    "a\tb",                     # TAB
    "a\xffb",                   # never valid in UTF-8
    "a\xc3\x28b",               # truncated UTF-8 sequence
    "caf\xc3\xa9",              # valid UTF-8 (e acute)
    "a\"b",
    "a<b>c",
    "a&b",
    "a'b",
    "<x>&\"\x01\xff\xc3\x28'",  # all of it at once
);
my @targets = (
    "/tls-any/a\xffb",
    "/tls-any/\xc3\x28",
    "/tls-any/caf\xc3\xa9",
    "/tls-any/a\"b<c>&d\\e'",
    "/tls-any/?q=\"<>&\\'\xff\xc3\x28caf\xc3\xa9",
    "/ws-only/x\"<y>\xff?q=<\"\xc3\x28>",
);

# label, request target, Host
my @cases;
for my $h (@hosts) {
    push @cases, [ 'Host ' . show($h), "/tls-any/", $h ],
                 [ 'Host ' . show($h), "/ws-only/", $h ];
}
push @cases, [ 'target ' . show($_), $_, 'localhost' ] for @targets;

my %types = (
    # Accept => assertions specific to that body type
    'text/html'        => 2,
    'application/json' => 2,
    'text/plain'       => 1,
);
my $per_case = 0;
$per_case += 3 + $types{$_} for keys %types;

plan tests => $per_case * @cases;
Test::More->builder->failure_output(\*STDERR);

# bytes made printable for test names
sub show {
    my $s = shift;
    $s =~ s/([^\x20-\x7e]|\\)/sprintf '\\x%02x', ord $1/ge;
    return $s;
}

sub get {
    my ($target, $host, $accept) = @_;
    my $sock = raw_socket('ur_unsafe');
    my ($head, $body) = raw_exchange($sock,
        "GET $target HTTP/1.1\r\nHost: $host\r\nAccept: $accept\r\n"
        . "Connection: close\r\n\r\n");
    close $sock;
    my ($status) = ($head // '') =~ m{\AHTTP/\d\.\d (\d{3})};
    return ($status // 0, $body // '');
}

for my $c (@cases) {
    my ($what, $target, $host) = @$c;
    my ($base) = $target =~ m{\A(/[^/]+/)};
    for my $accept (sort keys %types) {
        my $label = "$what on $base, $accept";
        my ($status, $body) = get($target, $host, $accept);
        is $status, 426, "$label: reaches the module, 426";
        my @ctl = $body =~ /([\x00-\x09\x0b-\x1f\x7f])/g;
        ok !@ctl, "$label: no control byte in the body"
            or diag 'found: ' . show(join '', @ctl);
        my @high = $body =~ /([\x80-\xff])/g;
        ok !@high, "$label: body is ASCII"
            or diag 'found: ' . show(join '', @high);
        if ($accept eq 'text/html') {
            # the list items hold the advice: all markup there is ours
            my ($items) = $body =~ m{<ul>\n(.*)</ul>}s;
            $items //= '';
            $items =~ s{</?li>}{}g;
            # the https URL is our link: its href must be the URL it shows
            my @links = $items =~ m{<a href="([^"<>]*)">([^"<>]*)</a>}g;
            ok !grep({ $_ % 2 == 0 && $links[$_] ne $links[$_ + 1] }
                     0 .. $#links),
               "$label: the link's href is the URL it shows";
            $items =~ s{<a href="[^"<>]*">[^"<>]*</a>}{URL}g;
            ok length $items && $items !~ /[<>"']/,
               "$label: no markup or quote from the request"
                or diag show($items);
        }
        elsif ($accept eq 'application/json') {
            my $p = eval { JSON::PP->new->utf8->decode($body) };
            ok ref $p eq 'HASH', "$label: valid UTF-8 JSON"
                or diag $@ || show($body);
            my $detail = ref $p eq 'HASH' ? $p->{detail} : undef;
            ok defined $detail && $detail ne ''
               && $detail !~ /[\x00-\x1f\x7f-\x9f]/,
               "$label: detail without control characters"
                or diag show($detail // '(none)');
        }
        else {
            # the status line, the reason, then one "- " line per rule
            like $body, qr{\A426 Upgrade Required\n\n(?:[^\n]+\n\n)?- \S},
                "$label: our plain text body";
        }
    }
}
