# UpgradeRequire websocket lets through only a well-formed RFC 6455 4.1
# opening handshake, so that a WebSocket-only area never hands the backend a
# request the proxy will not upgrade.  Through both proxies in front of
# t/bin/wsecho -- /ws-tunnel (ws://, mod_proxy_wstunnel) and /ws-http
# (mod_proxy_http upgrade=websocket) -- over plain HTTP and TLS:
#
#  - each malformed handshake (not GET, HTTP/1.0, Connection without
#    "upgrade", an Upgrade value other than exactly "websocket", a
#    Sec-WebSocket-Version other than exactly 13, a Sec-WebSocket-Key that
#    is not strict base64 of 16 bytes, two keys) and a plain GET get 426
#    with exactly one "Upgrade: websocket" line (and "Sec-WebSocket-Version:
#    13" when the version was wrong or missing), and the backend's request
#    log (wsecho --log) shows that the request never reached it;
#  - valid handshakes, including "Upgrade: WebSocket", "Connection:
#    keep-alive, Upgrade", lower-case field names and a version with a
#    trailing space (httpd trims it), get 101 with the right
#    Sec-WebSocket-Accept, echo a frame, and reach the backend as a
#    handshake;
#  - at the end the backend saw the valid handshakes and nothing else: no
#    plain request (handshake=0) ever got through.
#
# Every case carries its own query string (?case=<id>); the valid cases
# prove that both proxies pass it through unchanged, which is what makes
# the "never reached the backend" checks meaningful.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use MIME::Base64 qw(encode_base64);
use URTest qw(t_vars raw_socket tls_socket read_head read_response
              header_lines ws_frame ws_read_frame ws_accept_key
              ws_echo_start);

my $KEY = 'dGhlIHNhbXBsZSBub25jZQ==';          # RFC 6455 1.3, 16 bytes
my $KEY_ZERO = encode_base64("\0" x 16, '');    # AAAA...AA==
my $KEY_SYMBOLS = encode_base64(pack('C*', (0xfb, 0xff, 0xbf) x 5, 0xfb), '');
(my $KEY_URLSAFE = $KEY_SYMBOLS) =~ tr{+/}{-_};   # base64url: not base64

# A handshake as RFC 6455 4.1 has it; named fields override (undef drops
# the field, an array ref sends one line per value).
my @FIELDS = ('Upgrade', 'Connection', 'Sec-WebSocket-Key',
              'Sec-WebSocket-Version');
my %GOOD = (Upgrade => 'websocket', Connection => 'Upgrade',
            'Sec-WebSocket-Key' => $KEY, 'Sec-WebSocket-Version' => '13');
sub hs {
    my %o = @_;
    my @h;
    for my $name (@FIELDS) {
        my $val = exists $o{$name} ? $o{$name} : $GOOD{$name};
        next unless defined $val;
        push @h, map { [ $name, $_ ] } ref $val ? @$val : $val;
    }
    return \@h;
}

# Refused: [ id, label, headers, %opt ] with method, proto, and hint => 1
# when the 426 must carry Sec-WebSocket-Version: 13 (RFC 6455 4.2.2).
my @refused = (
    [ 'plain', 'plain GET, no Upgrade', [] ],
    [ 'up-list', 'Upgrade: foo, websocket',
      hs(Upgrade => 'foo, websocket') ],
    [ 'up-list2', 'Upgrade: websocket, foo',
      hs(Upgrade => 'websocket, foo') ],
    [ 'up-twice', 'Upgrade: websocket, websocket',
      hs(Upgrade => 'websocket, websocket') ],
    [ 'up-2lines', 'two Upgrade: websocket lines',
      hs(Upgrade => [ 'websocket', 'websocket' ]) ],
    [ 'up-comma', 'Upgrade: websocket, (empty list element)',
      hs(Upgrade => 'websocket,') ],
    [ 'up-ver', 'Upgrade: websocket/13', hs(Upgrade => 'websocket/13') ],
    [ 'no-conn', 'no Connection field', hs(Connection => undef) ],
    [ 'conn-ka', 'Connection: keep-alive', hs(Connection => 'keep-alive') ],
    [ 'post', 'POST handshake',
      [ @{ hs() }, [ 'Content-Length', 0 ] ], method => 'POST' ],
    [ 'head', 'HEAD handshake', hs(), method => 'HEAD' ],
    [ 'http10', 'HTTP/1.0 handshake', hs(), proto => 'HTTP/1.0' ],
    [ 'v8', 'Sec-WebSocket-Version: 8',
      hs('Sec-WebSocket-Version' => '8'), hint => 1 ],
    [ 'v-none', 'no Sec-WebSocket-Version',
      hs('Sec-WebSocket-Version' => undef), hint => 1 ],
    [ 'v-list', 'Sec-WebSocket-Version: 13, 8',
      hs('Sec-WebSocket-Version' => '13, 8'), hint => 1 ],
    [ 'v-2lines', 'two version lines 13 and 8 (merged: 13, 8)',
      hs('Sec-WebSocket-Version' => [ '13', '8' ]), hint => 1 ],
    [ 'v-13twice', 'two version lines 13 and 13 (merged: 13, 13)',
      hs('Sec-WebSocket-Version' => [ '13', '13' ]), hint => 1 ],
    [ 'k-none', 'no Sec-WebSocket-Key', hs('Sec-WebSocket-Key' => undef) ],
    [ 'k-empty', 'empty Sec-WebSocket-Key', hs('Sec-WebSocket-Key' => '') ],
    [ 'k-15', 'key of 15 bytes (20 characters)',
      hs('Sec-WebSocket-Key' => encode_base64('0123456789abcde', '')) ],
    [ 'k-17', 'key of 17 bytes (24 characters, one =)',
      hs('Sec-WebSocket-Key' => encode_base64('0123456789abcdefg', '')) ],
    [ 'k-nopad', '16-byte key without its == padding',
      hs('Sec-WebSocket-Key' => substr($KEY, 0, 22)) ],
    [ 'k-char', 'key with a * (not base64)',
      hs('Sec-WebSocket-Key' => 'dGhlIHNhbXBs*SBub25jZQ==') ],
    [ 'k-url', 'key in the base64url alphabet (- and _)',
      hs('Sec-WebSocket-Key' => $KEY_URLSAFE) ],
    [ 'k-3pad', 'key of 24 characters ending in ===',
      hs('Sec-WebSocket-Key' => substr($KEY, 0, 21) . '===') ],
    [ 'k-two', 'two Sec-WebSocket-Key lines (merged: k1, k2)',
      hs('Sec-WebSocket-Key' => [ $KEY, $KEY_ZERO ]) ],
);

# Passed through: [ id, label, headers, key ].
my @valid = (
    [ 'ok', 'RFC 6455 example handshake', hs(), $KEY ],
    [ 'ok-case', 'Upgrade: WebSocket', hs(Upgrade => 'WebSocket'), $KEY ],
    [ 'ok-conn', 'Connection: keep-alive, Upgrade',
      hs(Connection => 'keep-alive, Upgrade'), $KEY ],
    [ 'ok-lc', 'lower-case field names, connection: upgrade',
      [ map { [ lc $_->[0], $_->[0] =~ /Key/ ? $_->[1] : lc $_->[1] ] }
            @{ hs() } ], $KEY ],
    [ 'ok-zero', 'key AAAAAAAAAAAAAAAAAAAAAA==',
      hs('Sec-WebSocket-Key' => $KEY_ZERO), $KEY_ZERO ],
    [ 'ok-sym', "key with + and / ($KEY_SYMBOLS)",
      hs('Sec-WebSocket-Key' => $KEY_SYMBOLS), $KEY_SYMBOLS ],
    [ 'ok-vsp', 'Sec-WebSocket-Version: "13 " (httpd trims the space)',
      hs('Sec-WebSocket-Version' => '13 '), $KEY ],
);

my @channels = (
    [ 'tunnel',     '/ws-tunnel', 0 ],
    [ 'http',       '/ws-http',   0 ],
    [ 'tunnel-tls', '/ws-tunnel', 1 ],
    [ 'http-tls',   '/ws-http',   1 ],
);

my $per_channel = 4 * @valid;
for my $case (@refused) {
    my (undef, undef, undef, %opt) = @$case;
    $per_channel += $opt{hint} ? 4 : 3;
}
plan tests => @channels * $per_channel + 2;
Test::More->builder->failure_output(\*STDERR);

my $v = t_vars();
my $backend_log = "$v->{t_logs}/wsecho-17.log";
unlink $backend_log;
# the socket the config proxies to; every file that needs it starts its own
ws_echo_start("$v->{t_logs}/wsecho.sock", log => $backend_log);

sub request_text {
    my ($method, $target, $proto, $headers) = @_;
    my $text = "$method $target $proto\r\nHost: $v->{host}\r\n";
    $text .= "$_->[0]: $_->[1]\r\n" for @$headers;
    return "$text\r\n";
}

sub connect_to { return $_[0] ? tls_socket() : raw_socket() }

# Run every exchange first, assert afterwards: wsecho writes its log line
# before it answers, so once all responses are in, the log is complete.
my @results;
for my $ch (@channels) {
    my ($name, $path, $tls) = @$ch;
    for my $case (@refused) {
        my ($id, $label, $headers, %opt) = @$case;
        my $method = $opt{method} // 'GET';
        my $target = "$path?case=$id-$name";
        my %r = (kind => 'refused', id => "$id-$name", hint => $opt{hint},
                 label => "$path" . ($tls ? ' (TLS)' : '') . ": $label");
        eval {
            my $s = connect_to($tls);
            syswrite $s, request_text($method, $target,
                                      $opt{proto} // 'HTTP/1.1', $headers);
            @r{qw(status head)} = read_response($s, method => $method);
            close $s;
            1;
        } or $r{error} = $@;
        push @results, \%r;
    }
    for my $case (@valid) {
        my ($id, $label, $headers, $key) = @$case;
        my $target = "$path?case=$id-$name";
        my ($upgrade) = map { $_->[1] } grep { lc $_->[0] eq 'upgrade' }
                        @$headers;
        my %r = (kind => 'valid', id => "$id-$name", target => $target,
                 key => $key, upgrade => $upgrade,
                 label => "$path" . ($tls ? ' (TLS)' : '') . ": $label");
        eval {
            my $s = connect_to($tls);
            syswrite $s, request_text('GET', $target, 'HTTP/1.1', $headers);
            $r{head} = read_head($s);
            if (($r{head} // '') =~ m{\AHTTP/1\.1 101 }) {
                syswrite $s, ws_frame("echo $r{id}");
                (undef, $r{echo}) = ws_read_frame($s);
                syswrite $s, ws_frame('', 8);
            }
            close $s;
            1;
        } or $r{error} = $@;
        push @results, \%r;
    }
}

my @log = do {
    open my $fh, '<', $backend_log or die "$backend_log: $!\n";
    <$fh>;
};
chomp @log;
# the log lines of one case: "<method> <target> handshake=<0|1> ..."
sub seen { my $id = shift; grep { /^\S+ \S*[?&]case=\Q$id\E[&\s]/ } @log }

for my $r (@results) {
    my $l = $r->{label};
    my $head = $r->{head} // '';
    diag "$l: $r->{error}" if $r->{error};
    if ($r->{kind} eq 'refused') {
        is $r->{status} // 0, 426, "$l -> 426";
        is_deeply [ header_lines($head, 'Upgrade') ], ['websocket'],
            "$l: exactly one Upgrade: websocket";
        if ($r->{hint}) {
            is_deeply [ header_lines($head, 'Sec-WebSocket-Version') ],
                ['13'], "$l: Sec-WebSocket-Version: 13 on the 426";
        }
        my @seen = seen($r->{id});
        ok !@seen, "$l: never reached the backend"
            or diag "backend log: @seen";
    }
    else {
        like $head, qr{\AHTTP/1\.1 101 }, "$l -> 101"
            or diag 'response: ' . ((split /\r\n/, $head)[0] // '(none)');
        is_deeply [ header_lines($head, 'Sec-WebSocket-Accept') ],
            [ ws_accept_key($r->{key}) ], "$l: Sec-WebSocket-Accept";
        is $r->{echo}, "echo $r->{id}", "$l: frame echoed";
        my @seen = seen($r->{id});
        is_deeply \@seen,
            [ "GET $r->{target} handshake=1 upgrade=$r->{upgrade}" ],
            "$l: reached the backend once, as a handshake, query intact";
    }
}

my @plain = grep { /\shandshake=0\s/ } @log;
is_deeply \@plain, [], 'no plain request ever reached the backend';
is scalar @log, @channels * @valid,
    'the backend saw the valid handshakes and nothing else'
    or diag join "\n", 'backend log:', @log;
