# The README recipe "Phasing out TLS 1.0/1.1, measuring first", with real
# TLS 1.0 and 1.1 clients (openssl s_client -tls1 / -tls1_1): on stock
# Debian 12 OpenSSL they never reach httpd, so the recipe must re-enable
# them on the TLS vhost (SSLProtocol, SSLCipherSuite DEFAULT:@SECLEVEL=0,
# and the same security level on the client).  With that (the vhost
# ur_legacy_ssl of t/conf/legacy.conf.in), enforce mode answers 426 with
# Upgrade: TLS/1.2, HTTP/1.1 and a body that says what to do, report mode
# serves, both reach the audit log, and a TLS 1.2 client is never logged.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars header_lines);
use URRun qw(run_cmd);
use Time::HiRes ();

plan tests => 36;
Test::More->builder->failure_output(\*STDERR);

my $v      = t_vars();
my $legacy = Apache::Test::config()->{vhosts}{ur_legacy_ssl}{port}
    or die "no ur_legacy_ssl vhost in the generated config\n";
my $audit  = "$v->{t_logs}/tls_audit_log";
my $weak   = 'DEFAULT:@SECLEVEL=0';
my $tag    = "t19-$$-" . time;    # marks this run's lines in the audit log

# One request over openssl s_client forced to $ver (tls1, tls1_1, tls1_2)
# to $port; cipher => '' leaves OpenSSL's default (security level 2).
# Returns a hashref: out (everything s_client printed), rc, proto (the
# negotiated version s_client reports), status, head, body.
sub s_client {
    my ($ver, $path, %opt) = @_;
    my $cipher = exists $opt{cipher} ? $opt{cipher} : $weak;
    my ($out, $rc) = run_cmd(cmd => [
        'openssl', 's_client', '-brief', '-ign_eof', "-$ver",
        ($cipher ne '' ? ('-cipher', $cipher) : ()),
        '-connect', '127.0.0.1:' . ($opt{port} // $legacy),
        '-servername', $v->{host}, '-CAfile', $v->{ca},
        '-verify_return_error',
    ], stdin => "GET $path HTTP/1.1\r\nHost: $v->{host}\r\n"
              . "Accept: text/plain\r\nConnection: close\r\n\r\n");
    my %r = (out => $out, rc => $rc, status => 0, head => '', body => '');
    ($r{proto}) = $out =~ /^Protocol version: (\S+)$/m;
    $r{proto} //= '';
    if ($out =~ m{^(HTTP/1\.1 (\d{3}) .*?\r\n\r\n)(.*)}ms) {
        @r{qw(head status body)} = ($1, $2, $3);
    }
    return \%r;
}

# The audit log once a line matching $want is there (polled for 5 s: httpd
# logs after the response), or its whole text when it never comes.
sub audit_log {
    my $want = shift;
    my $deadline = Time::HiRes::time() + 5;
    while (1) {
        my $text = '';
        if (open my $fh, '<', $audit) {
            $text = do { local $/; <$fh> } // '';
            close $fh;
        }
        return $text if $text =~ $want || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

# ---- the recipe and this test's vhost say the same -------------------------
open my $rf, '<', "$v->{top_dir}/README.md" or die "README.md: $!";
my $readme = do { local $/; <$rf> };
close $rf;
my ($recipe) = $readme
    =~ /^\*\*Phasing out TLS 1\.0\/1\.1.*?^```apache\n(.*?)^```$/ms;
open my $cf, '<', "$FindBin::Bin/conf/legacy.conf.in" or die $!;
my %conf = map { s/^\s+|\s+$//gr => 1 } <$cf>;
close $cf;
for my $d (qw(SSLProtocol SSLCipherSuite LogFormat)) {
    my ($line) = ($recipe // '') =~ /^\s*(\Q$d\E\s.*?)\s*$/m;
    ok $line && $conf{$line}, "README recipe and legacy.conf.in: same $d line"
        or diag 'README: ', $line // '(none)';
}
like $recipe // '', qr/^\s*SSLCipherSuite DEFAULT:\@SECLEVEL=0$/m,
    'the recipe lowers the security level to 0';

# ---- why the recipe needs all this ---------------------------------------
# the stock TLS vhost (mod_ssl, no SSLProtocol/SSLCipherSuite of its own):
# the handshake fails even for a client at security level 0, so nothing is
# left for UpgradeRequire to answer or log
my $r = s_client('tls1', '/tls12/', port => $v->{ssl_port});
isnt $r->{rc}, 0, 'stock vhost: TLS 1.0 handshake fails' or diag $r->{out};
is $r->{status}, 0, 'stock vhost: no HTTP response for a TLS 1.0 client';
# the client needs security level 0 too: OpenSSL 3 signs TLS 1.0/1.1 key
# exchanges with MD5-SHA1 only at level 0
$r = s_client('tls1', '/legacy/enforce/', cipher => '');
like $r->{out}, qr/legacy sigalg disallowed|no suitable signature/,
    'client at the default security level: TLS 1.0 handshake refused'
    or diag $r->{out};
is $r->{status}, 0, 'and no HTTP response';

# ---- old clients: enforce answers 426, report serves; both are logged ------
for my $case ([ 'tls1', 'TLSv1' ], [ 'tls1_1', 'TLSv1.1' ]) {
    my ($ver, $proto) = @$case;
    $r = s_client($ver, "/legacy/enforce/?$tag-$ver");
    my $req = qr{"GET /legacy/enforce/\?\Q$tag-$ver\E HTTP/1\.1"};
    is $r->{proto}, $proto, "-$ver: negotiated $proto" or diag $r->{out};
    is $r->{status}, 426, "$proto, enforce: 426" or diag $r->{out};
    is join("\n", header_lines($r->{head}, 'Upgrade')), 'TLS/1.2, HTTP/1.1',
        "$proto: one line Upgrade: TLS/1.2, HTTP/1.1";
    like join(',', header_lines($r->{head}, 'Connection')), qr/\bUpgrade\b/,
        "$proto: Connection: Upgrade";
    # the connection's own port: the client is on the legacy vhost
    my $url = qr{https://\Q$v->{host}\E:$legacy/legacy/enforce/\?\Q$tag-$ver\E};
    my $name = $proto eq 'TLSv1' ? 'TLS 1\.0' : 'TLS 1\.1';
    like $r->{body},
        qr{older TLS version \($name\): reconnect over $url with TLS 1\.2 or newer},
        "$proto: the body names the version used, says TLS 1.2 or newer";
    like audit_log(qr/\Q$tag-$ver\E/),
        qr{^\S+ \[[^]]+\] $req 426 \Q$proto\E TLS/1\.2$}m,
        "$proto, enforce: audit log line with $proto and TLS/1.2";

    $r = s_client($ver, "/legacy/report/?$tag-$ver");
    $req = qr{"GET /legacy/report/\?\Q$tag-$ver\E HTTP/1\.1"};
    is $r->{status}, 200, "$proto, report: 200" or diag $r->{out};
    like $r->{body}, qr{content of /legacy/report/},
        "$proto, report: real content";
    is scalar(header_lines($r->{head}, 'Upgrade')), 0,
        "$proto, report: no Upgrade header";
    like audit_log(qr{report/\?\Q$tag-$ver\E}),
        qr{^\S+ \[[^]]+\] $req 200 \Q$proto\E TLS/1\.2$}m,
        "$proto, report: audit log line with $proto and TLS/1.2";
}

# ---- a TLS 1.2 client is served and never logged ---------------------------
for my $loc (qw(enforce report)) {
    $r = s_client('tls1_2', "/legacy/$loc/?$tag-tls12");
    is $r->{proto}, 'TLSv1.2', "-tls1_2 ($loc): negotiated TLSv1.2"
        or diag $r->{out};
    is $r->{status}, 200, "TLSv1.2, $loc: 200" or diag $r->{out};
    like $r->{body}, qr{content of /legacy/$loc/},
        "TLSv1.2, $loc: real content";
}
# a later TLS 1.0 request is in the log: the TLS 1.2 ones would be by now
s_client('tls1', "/legacy/enforce/?$tag-last");
my $log = audit_log(qr/\Q$tag-last\E/);
like $log, qr/\Q$tag-last\E HTTP\/1\.1" 426 TLSv1 TLS\/1\.2$/m,
    'the audit log is written (a later TLS 1.0 request is there)';
unlike $log, qr/\Q$tag-tls12\E/, 'TLS 1.2 requests are not in the audit log';
