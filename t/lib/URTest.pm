package URTest;
# Shared helpers for the t/*.t files: raw HTTP/1.x over plain and TLS sockets
# (when exact header bytes matter), RFC 6455 frames, the wsecho backend,
# curl/nghttp wrappers and error_log audits.  Core Perl + IO::Socket::SSL.
#
# Apache::Test and IO::Socket::SSL are loaded on first use only, so that
# t/bin/wsecho can share the framing code without a configured test tree.
#
# Every read has a timeout (10 s unless timeout => N; 0 = none): a missing
# response must fail the test, not hang the CI job.
use strict;
use warnings;
use Exporter 'import';
use Cwd ();
use File::Basename ();
use Digest::SHA ();
use MIME::Base64 ();
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(t_vars capture_from raw_socket tls_socket read_head read_body
    read_response raw_exchange header_lines ws_frame ws_read_frame
    ws_accept_key ws_echo_start capture curl nghttp error_log_size
    error_log_since httpd_check directive_contexts);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my $WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';    # RFC 6455 1.3
my $DEFAULT_TIMEOUT = 10;

my $vars_cache;

# Hashref of what tests need from the running config: host, port, ssl_port,
# url, ssl_url, ca, t_logs, error_log, top_dir, serverroot, documentroot.
sub t_vars {
    return $vars_cache if $vars_cache;
    require Apache::Test;
    my $v   = Apache::Test::vars();
    my $ssl = Apache::Test::config()->{vhosts}{mod_ssl}
        or die "URTest: no mod_ssl vhost in the generated config\n";
    my $host = $v->{servername};
    return $vars_cache = {
        host         => $host,
        port         => $v->{port},
        ssl_port     => $ssl->{port},
        url          => "http://$host:$v->{port}",
        ssl_url      => "https://$host:$ssl->{port}",
        ca           => "$v->{sslca}/$v->{sslcaorg}/certs/ca.crt",
        t_logs       => $v->{t_logs},
        error_log    => "$v->{t_logs}/error_log",
        top_dir      => $v->{top_dir},
        serverroot   => $v->{serverroot},
        documentroot => $v->{documentroot},
    };
}

# Run $code under an alarm of $secs seconds (0: no limit); dies on timeout.
sub _timed {
    my ($secs, $code) = @_;
    return $code->() unless $secs;
    my @r;
    eval {
        local $SIG{ALRM} = sub { die "URTest: timed out after ${secs}s\n" };
        alarm $secs;
        @r = $code->();
        alarm 0;
        1;
    } or do { alarm 0; die $@ };
    return wantarray ? @r : $r[-1];
}

# Socket to the main port (no $vhost) or to an Apache::Test vhost; TLS for
# 'mod_ssl', verified against the test CA.
sub raw_socket {
    my $vhost = shift;
    require Apache::TestRequest;
    Apache::TestRequest::set_ca_cert() if $vhost && $vhost =~ /ssl/;
    # IO::Socket::SSL 2.081 warns "uninitialized value $2" for the PeerAddr
    # without port that vhost_socket passes; the connection is fine.
    local $SIG{__WARN__} = sub {
        warn @_ unless $_[0] =~ m{IO/Socket/SSL\.pm line};
    };
    my $s = Apache::TestRequest::vhost_socket($vhost || 'default');
    return $s if $s;
    die "URTest: cannot connect to " . ($vhost || 'the main port') . ": "
        . ($vhost && $vhost =~ /ssl/ ? IO::Socket::SSL::errstr() : $!) . "\n";
}

# TLS socket to the mod_ssl vhost, certificate and name (localhost) verified
# against the test CA.  SSL_* options pass through (SSL_version => 'TLSv1_2',
# SSL_alpn_protocols => [...]); dies on failure unless may_fail => 1.
sub tls_socket {
    my %opt = @_;
    require IO::Socket::SSL;
    my $v = t_vars();
    my %ssl = map { $_ => $opt{$_} } grep { /^SSL_/ } keys %opt;
    my $s = IO::Socket::SSL->new(
        PeerHost            => '127.0.0.1',
        PeerPort            => $opt{port} // $v->{ssl_port},
        Timeout             => $opt{timeout} // $DEFAULT_TIMEOUT,
        SSL_verify_mode     => IO::Socket::SSL::SSL_VERIFY_PEER(),
        SSL_ca_file         => $v->{ca},
        SSL_hostname        => $v->{host},
        SSL_verifycn_name   => $v->{host},
        SSL_verifycn_scheme => 'http',
        %ssl,
    );
    return $s if $s || $opt{may_fail};
    die "URTest: TLS connect failed: " . IO::Socket::SSL::errstr() . "\n";
}

# Exactly $n bytes from $fh, or undef at EOF.
sub read_exact {
    my ($fh, $n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $r = sysread($fh, $buf, $n - length($buf), length($buf));
        return undef unless $r;
    }
    return $buf;
}

# One line including its LF, or what came before EOF (undef if nothing).
sub _read_line {
    my $fh = shift;
    my $line = '';
    while ($line !~ /\n\z/) {
        my $r = sysread($fh, $line, 1, length $line);
        last unless $r;
    }
    return length $line ? $line : undef;
}

sub _read_to_eof {
    my $fh = shift;
    my $buf = '';
    1 while sysread($fh, $buf, 16384, length $buf);
    return $buf;
}

# Response/request head up to and including the blank line, read byte by
# byte so nothing after it (body, frames) is consumed; undef at EOF.
sub read_head {
    my ($fh, %opt) = @_;
    return _timed($opt{timeout} // $DEFAULT_TIMEOUT, sub {
        my $head = '';
        while ($head !~ /\r\n\r\n\z/) {
            my $r = sysread($fh, $head, 1, length $head);
            return length $head ? $head : undef unless $r;
            die "URTest: head longer than 64 KiB\n" if length $head > 65536;
        }
        return $head;
    });
}

# The body that follows $head: chunked (trailers dropped), Content-Length,
# else to EOF for a response and empty for a request (request => 1).
sub read_body {
    my ($fh, $head, %opt) = @_;
    return _timed($opt{timeout} // $DEFAULT_TIMEOUT, sub {
        if (grep { /\bchunked\b/i } header_lines($head, 'Transfer-Encoding')) {
            my $body = '';
            while (1) {
                my $size = _read_line($fh) // die "URTest: EOF in chunked body\n";
                $size =~ /^([0-9a-fA-F]+)/ or die "URTest: bad chunk size '$size'\n";
                my $n = hex $1;
                last if $n == 0;
                $body .= read_exact($fh, $n) // die "URTest: EOF in chunk\n";
                read_exact($fh, 2) // die "URTest: EOF after chunk\n";
            }
            while (defined(my $t = _read_line($fh))) {
                last if $t =~ /^\r?\n\z/;
            }
            return $body;
        }
        my ($len) = header_lines($head, 'Content-Length');
        if (defined $len) {
            return read_exact($fh, $len) // die "URTest: EOF in body\n";
        }
        return $opt{request} ? '' : _read_to_eof($fh);
    });
}

# (status, head, body) of the next response on $fh, leaving the connection
# usable for another request.  method => 'HEAD' for a HEAD request; 1xx,
# 204 and 304 have no body.  Empty list at EOF.
sub read_response {
    my ($fh, %opt) = @_;
    my $head = read_head($fh, %opt) // return;
    my ($status) = $head =~ m{\AHTTP/\d(?:\.\d)? (\d{3})}
        or die "URTest: not an HTTP response: '"
               . substr($head, 0, 60) . "'\n";
    my $method = uc($opt{method} // 'GET');
    my $body = '';
    unless ($method eq 'HEAD' || $status =~ /^1/ || $status == 204
            || $status == 304) {
        $body = read_body($fh, $head, %opt);
    }
    return ($status, $head, $body);
}

sub _write_all {
    my ($fh, $data) = @_;
    while (length $data) {
        my $n = syswrite($fh, $data);
        die "URTest: write failed: $!\n" unless defined $n;
        substr($data, 0, $n, '');
    }
}

# Send $request verbatim; return (head, body).  Body read to EOF (send
# "Connection: close"), or by framing with keepalive => 1 so a second
# request can follow; head_only => 1 leaves the body/frames unread.
sub raw_exchange {
    my ($fh, $request, %opt) = @_;
    _write_all($fh, $request);
    if ($opt{keepalive}) {
        my ($method) = $request =~ /\A(\S+)/;
        my (undef, $head, $body) = read_response($fh, %opt, method => $method);
        return ($head, $body);
    }
    my $head = read_head($fh, %opt);
    return ($head, '') if $opt{head_only} || !defined $head;
    return ($head, _timed($opt{timeout} // $DEFAULT_TIMEOUT,
                          sub { _read_to_eof($fh) }));
}

# All values of header $name in $head, in order, one per line, e.g. for
# "exactly one Upgrade line" checks.
sub header_lines {
    my ($head, $name) = @_;
    return map { /^\Q$name\E:[ \t]*(.*?)[ \t]*\r?$/i ? $1 : () }
        split /\n/, $head // '';
}

# One frame: opcode $op (1 text, 2 binary, 8 close, 9 ping, 10 pong, 0
# continuation), masked unless $masked is 0 (clients mask), FIN unless $fin is 0.
sub ws_frame {
    my ($payload, $op, $masked, $fin) = @_;
    $op //= 1; $masked //= 1; $fin //= 1;
    my $len = length $payload;
    my $hdr = pack('C', ($fin ? 0x80 : 0) | $op);
    my $mbit = $masked ? 0x80 : 0;
    if    ($len < 126)   { $hdr .= pack('C', $mbit | $len) }
    elsif ($len < 65536) { $hdr .= pack('Cn', $mbit | 126, $len) }
    else                 { $hdr .= pack('CQ>', $mbit | 127, $len) }
    return $hdr . $payload unless $masked;
    my $key = pack('N', int(rand(2**32)));
    my $mask = substr($key x (int($len / 4) + 1), 0, $len);
    return $hdr . $key . ($payload ^ $mask);
}

# Next frame as (opcode, payload, fin), unmasked; empty list at EOF.
sub ws_read_frame {
    my ($fh, %opt) = @_;
    return _timed($opt{timeout} // $DEFAULT_TIMEOUT, sub {
        my $h = read_exact($fh, 2) // return;
        my ($b0, $b1) = unpack('CC', $h);
        my $len = $b1 & 0x7f;
        if    ($len == 126) { $len = unpack('n',  read_exact($fh, 2) // return) }
        elsif ($len == 127) { $len = unpack('Q>', read_exact($fh, 8) // return) }
        my $key = ($b1 & 0x80) ? (read_exact($fh, 4) // return) : undef;
        my $payload = $len ? (read_exact($fh, $len) // return) : '';
        $payload ^= substr($key x (int($len / 4) + 1), 0, $len) if defined $key;
        return ($b0 & 0x0f, $payload, ($b0 & 0x80) ? 1 : 0);
    });
}

# Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2).
sub ws_accept_key {
    return MIME::Base64::encode_base64(Digest::SHA::sha1($_[0] . $WS_GUID), '');
}

my @echo_pids;
my $owner = $$;

# Start t/bin/wsecho on Unix socket $path (ttl => seconds, default 300;
# log => FILE: one line per request it receives, see t/bin/wsecho) and
# wait for the socket; returns the pid, killed at exit if still running.
sub ws_echo_start {
    my ($path, %opt) = @_;
    my $bin = Cwd::abs_path(File::Basename::dirname(__FILE__) . '/../bin/wsecho');
    my @args = ('--ttl', $opt{ttl} // 300);
    push @args, '--log', $opt{log} if defined $opt{log};
    unlink $path;
    my $pid = fork // die "URTest: fork: $!\n";
    unless ($pid) {
        { no warnings 'exec'; exec $^X, $bin, $path, @args }
        POSIX::_exit(127);
    }
    push @echo_pids, $pid;
    my $deadline = Time::HiRes::time() + 10;
    until (-S $path) {
        die "URTest: wsecho exited before listening on $path\n"
            if waitpid($pid, POSIX::WNOHANG()) == $pid;
        die "URTest: wsecho did not create $path within 10 s\n"
            if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
    return $pid;
}

END {
    # END runs while $? holds the test's exit status: keep it.
    local $?;
    if ($$ == $owner) {
        for my $pid (@echo_pids) {
            kill 'TERM', $pid;
            waitpid $pid, 0;
        }
    }
}

# Combined stdout+stderr of a command run with stdin from /dev/null (so
# openssl s_client returns), no shell; exit status left in $?.
sub capture {
    return capture_from('/dev/null', @_);
}

# The same with stdin from $file (promtool, a Python parser).
sub capture_from {
    my ($file, @cmd) = @_;
    my $pid = open(my $out, '-|') // die "URTest: fork: $!\n";
    unless ($pid) {
        open STDIN, '<', $file or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec { $cmd[0] } @cmd }
        print "URTest: cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    local $/;
    my $text = <$out> // '';
    close $out;
    return $text;
}

# curl -sS --max-time 10 --cacert <test CA> @args; output with stderr merged
# (-v lines included), exit status in $?.
sub curl {
    return capture('curl', '-sS', '--max-time', $DEFAULT_TIMEOUT,
                    '--cacert', t_vars()->{ca}, @_);
}

# nghttp --timeout=10 @args (prior-knowledge h2c for http:// URLs); output
# with stderr merged, exit status in $?.
sub nghttp {
    return capture('nghttp', "--timeout=$DEFAULT_TIMEOUT", @_);
}

# httpd_check($lines) -> (exit status, output) of "httpd -t" on a minimal
# server of its own (mpm_event, authz_core, our module) with $lines as its
# configuration; @flags go on the command line (-D DUMP_..., -L).
sub httpd_check {
    my ($lines, @flags) = @_;
    require Apache::Test;
    require File::Temp;
    my $vars = Apache::Test::vars();
    my $libexec = capture('apxs', '-q', 'LIBEXECDIR');
    chomp $libexec;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    open my $fh, '>', "$dir/httpd.conf" or die "URTest: $dir: $!\n";
    print $fh <<"CONF";
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:9
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LoadModule mpm_event_module "$libexec/mod_mpm_event.so"
LoadModule authz_core_module "$libexec/mod_authz_core.so"
LoadModule upgrade_required_module "$vars->{top_dir}/.libs/mod_upgrade_required.so"
$lines
CONF
    close $fh;
    my $out = capture($vars->{httpd}, (@flags ? @flags : '-t'),
                      '-f', "$dir/httpd.conf");
    return ($? >> 8, $out);
}

# { directive => "Allowed in ..." } for our directives, from "httpd -L":
# the contexts httpd itself enforces, read from the command table.
sub directive_contexts {
    my (undef, $list) = httpd_check('', '-L');
    my %where;
    while ($list =~ /^(UpgradeRequire\w*) \(mod_upgrade_required\.c\)\n(?:\t.*\n)*?\t(Allowed in .*)$/mg) {
        $where{$1} = $2;
    }
    return \%where;
}

# Current size of t/logs/error_log: take it before the request to audit.
sub error_log_size {
    return (-s t_vars()->{error_log}) || 0;
}

# error_log text written since $offset; with $wait (a regex) polls up to
# $timeout (5) seconds for it, since httpd may log after the response.
sub error_log_since {
    my ($offset, $wait, $timeout) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 5);
    while (1) {
        open my $fh, '<', t_vars()->{error_log}
            or die "URTest: cannot read error_log: $!\n";
        seek $fh, $offset, 0;
        my $text = do { local $/; <$fh> } // '';
        close $fh;
        return $text if !$wait || $text =~ $wait
            || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

1;
