package URReq;
# One raw HTTP/1.x exchange described by a few named options, for the
# table-driven tests: exact request bytes out, the head parsed back.
use strict;
use warnings;
use Exporter 'import';
use URTest qw(raw_socket tls_socket raw_exchange header_lines t_vars);

our @EXPORT_OK = qw(req expect);

# req(GET => '/path', %opt) with options
#   headers => [ Name => value, ... ]   extra request headers, in order
#   proto   => 'HTTP/1.1' (default) or 'HTTP/1.0'
#   tls     => 1, or 'TLSv1_2' / 'TLSv1_3' to force a version
#   body    => request body (Content-Length added)
#   host    => Host header value (default: the server name)
#   from    => local source address (e.g. '127.0.0.2'), plain HTTP only
#   vhost   => Apache::Test vhost name (e.g. 'ur_alb') to connect to
# Returns a hashref: status, head, body, and the lists upgrade, connection.
sub req {
    my ($method, $path, %opt) = @_;
    my $proto = $opt{proto} // 'HTTP/1.1';
    my @h = ('Host' => $opt{host} // t_vars()->{host});
    push @h, @{ $opt{headers} || [] };
    push @h, 'Connection' => 'close'
        unless grep { lc $_ eq 'connection' } @{ $opt{headers} || [] };
    push @h, 'Content-Length' => length $opt{body} if defined $opt{body};
    my $text = "$method $path $proto\r\n";
    while (my ($k, $v) = splice @h, 0, 2) {
        $text .= "$k: $v\r\n";
    }
    $text .= "\r\n" . ($opt{body} // '');

    my $sock;
    my $port = t_vars()->{port};
    if ($opt{vhost}) {
        require Apache::Test;
        $port = Apache::Test::config()->{vhosts}{$opt{vhost}}{port}
            or die "URReq: no vhost '$opt{vhost}' in the generated config\n";
    }
    if ($opt{from} || $opt{vhost}) {
        require IO::Socket::INET;
        $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port,
                                      LocalAddr => $opt{from} // '127.0.0.1',
                                      Timeout => 10)
            or die "URReq: connect to port $port: $!\n";
    }
    elsif (!$opt{tls}) {
        $sock = raw_socket();
    }
    elsif ($opt{tls} =~ /^TLSv/) {
        $sock = tls_socket(SSL_version => $opt{tls});
    }
    else {
        $sock = tls_socket();
    }
    # read by framing, not to EOF: a request without "close" keeps the
    # connection open
    my ($head, $body) = raw_exchange($sock, $text, keepalive => 1);
    $head //= '';
    my ($status) = $head =~ m{\AHTTP/\d\.\d (\d{3})};
    my %r = (status => $status // 0, head => $head, body => $body // '',
             upgrade    => [ header_lines($head, 'Upgrade') ],
             connection => [ header_lines($head, 'Connection') ]);
    $r{tls_version} = $sock->get_sslversion if $opt{tls};
    close $sock;
    return \%r;
}

# Two assertions on a req() result: the status, and the Upgrade lines --
# exactly [$upgrade], or (undef) none but mod_http2's own h2/h2c offer.
sub expect {
    my ($r, $label, $status, $upgrade) = @_;
    my $tb = Test::More->builder;
    $tb->is_num($r->{status}, $status, "$label -> $status");
    if (defined $upgrade) {
        $tb->is_eq(join("\n", @{ $r->{upgrade} }), $upgrade,
                   "$label: one line Upgrade: $upgrade");
    }
    else {
        my @ours = grep { !/\Ah2c?(?:\s*,\s*h2c?)*\z/i } @{ $r->{upgrade} };
        $tb->ok(!@ours, "$label: no advertisement of ours")
            or $tb->diag("Upgrade: @ours");
    }
}

1;
