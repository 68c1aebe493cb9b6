# Three README claims checked against the real server (config in
# t/conf/legacy.conf.in, plus /ed-remote of t/conf/upgrade.conf.in):
# - Exports: a 426 is an error response, so mod_headers reaches it with
#   "Header always set" only; "Header set" does not (it does on report
#   mode's 200);
# - "Refusing HTTP/1.0": UpgradeRequire HTTP/1.1 also refuses HTTP/1.0
#   health checks and ab, and the recipe's exemptions (a <Location> with
#   UpgradeRequire off, an <If "-R ..."> with UpgradeRequire off) let them
#   in, checked with raw HTTP/1.0 requests and with ab itself;
# - ErrorDocument table: a remote-URL ErrorDocument 426 turns the 426 into
#   a 302 with Location, and our Upgrade/Connection headers are still on it.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars header_lines);
use URReq qw(req expect);
use URRun qw(run_cmd);
use Time::HiRes ();

plan tests => 34;
Test::More->builder->failure_output(\*STDERR);

my $v = t_vars();

sub hdr {
    my ($r, $name) = @_;
    return join "\n", header_lines($r->{head}, $name);
}

# ---- mod_headers on a 426: only "always" ------------------------------------
my $r = req(GET => '/claims/hdr/');
is $r->{status}, 426, 'plaintext GET /claims/hdr/ -> 426';
is hdr($r, 'X-UR-Always'), 'TLS',
    'Header always set ... env=UPGRADE_REQUIRED reaches the 426';
is hdr($r, 'X-UR-Onsuccess'), '',
    'Header set ... env=UPGRADE_REQUIRED does not';
$r = req(GET => '/claims/hdr-report/');
is $r->{status}, 200, 'report mode: 200';
is hdr($r, 'X-UR-Always'), 'TLS', 'report mode: Header always set is there';
is hdr($r, 'X-UR-Onsuccess'), 'TLS', 'report mode: so is Header set';

# ---- HTTP/1.0 clients and their exemptions (raw requests) ------------------
$r = req(GET => '/claims/h11/', proto => 'HTTP/1.0');
expect $r, 'HTTP/1.0 GET /claims/h11/', 426, 'HTTP/1.1';
like $r->{body}, qr{HTTP/1\.1 or newer is required}, 'the body says HTTP/1.1';
$r = req(GET => '/claims/h11/', proto => 'HTTP/1.1');
is $r->{status}, 200, 'HTTP/1.1 GET /claims/h11/ -> 200';
$r = req(GET => '/claims/h11/healthz/', proto => 'HTTP/1.0');
is $r->{status}, 200,
    'HTTP/1.0 GET of the exempt <Location> /claims/h11/healthz/ -> 200';
like $r->{body}, qr{content of /claims/h11/healthz/}, 'with its content';
$r = req(GET => '/claims/h11/', proto => 'HTTP/1.0', from => '127.0.0.2');
is $r->{status}, 200, 'HTTP/1.0 from the exempt address (<If -R>) -> 200';
like $r->{body}, qr{content of /claims/h11/}, 'with its content';
$r = req(GET => '/claims/h11/', proto => 'HTTP/1.0', from => '127.0.0.1');
is $r->{status}, 426, 'HTTP/1.0 from another address -> 426';
# -R sees the address mod_remoteip made: here 127.0.0.1 may set X-Real-IP
$r = req(GET => '/claims/h11/', proto => 'HTTP/1.0',
         headers => [ 'X-Real-IP' => '127.0.0.2' ]);
is $r->{status}, 200,
    '-R matches the address after mod_remoteip (README caveat)';

# ---- ab (ApacheBench) speaks HTTP/1.0 --------------------------------------
my $logs = $v->{t_logs};
my $tag = "t20-$$-" . time;
sub ab {
    my ($path, @opt) = @_;
    my ($out, $rc) = run_cmd(cmd => [ 'ab', '-n', '1', '-s', '10', @opt,
                                      "http://127.0.0.1:$v->{port}$path" ],
                             timeout => 15);
    return ($out, $rc);
}
sub access_log {
    my $want = shift;
    my $deadline = Time::HiRes::time() + 5;
    while (1) {
        open my $fh, '<', "$logs/ur_access_log" or die "ur_access_log: $!";
        my $text = do { local $/; <$fh> } // '';
        close $fh;
        return $text if $text =~ $want || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

my ($out, $rc) = ab("/claims/h11/?$tag-refused");
is $rc, 0, 'ab ran' or diag $out;
like $out, qr/^Complete requests:\s+1$/m, 'ab: one request completed';
like $out, qr/^Non-2xx responses:\s+1$/m,
    'ab against UpgradeRequire HTTP/1.1: non-2xx';
like access_log(qr/\Q$tag\E-refused/),
    qr{"GET /claims/h11/\?\Q$tag\E-refused HTTP/1\.0" 426 ur_env="HTTP/1\.1"},
    'access log: ab sent HTTP/1.0 and got the 426';

($out, $rc) = ab("/claims/h11/healthz/?$tag-path");
is $rc, 0, 'ab ran (exempt path)' or diag $out;
like $out, qr/^Complete requests:\s+1$/m,
    'ab, exempt path: one request completed';
like $out, qr/^Failed requests:\s+0$/m, 'ab, exempt path: none failed';
unlike $out, qr/^Non-2xx responses:/m, 'ab, exempt path: 2xx';
like access_log(qr/\Q$tag\E-path/),
    qr{"GET /claims/h11/healthz/\?\Q$tag\E-path HTTP/1\.0" 200 },
    'access log: HTTP/1.0 from ab, 200';

($out, $rc) = ab("/claims/h11/?$tag-addr", '-B', '127.0.0.2');
is $rc, 0, 'ab -B 127.0.0.2 ran (exempt address)' or diag $out;
like $out, qr/^Complete requests:\s+1$/m,
    'ab, exempt address: one request completed';
unlike $out, qr/^Non-2xx responses:/m, 'ab, exempt address: 2xx';
like access_log(qr/\Q$tag\E-addr/),
    qr{^127\.0\.0\.2 "GET /claims/h11/\?\Q$tag\E-addr HTTP/1\.0" 200 }m,
    'access log: HTTP/1.0 from 127.0.0.2, 200';

# ---- remote-URL ErrorDocument 426: a 302 that still carries our headers ------
$r = req(GET => '/ed-remote/');
is $r->{status}, 302, 'remote-URL ErrorDocument: 302, no longer 426';
is hdr($r, 'Location'), 'http://example.invalid/426.html', 'Location: the URL';
is hdr($r, 'Upgrade'), 'websocket', 'one Upgrade line, still ours';
like hdr($r, 'Connection'), qr/^Upgrade\b/, 'Connection: Upgrade still there';
is hdr($r, 'Cache-Control'), 'no-store', 'Cache-Control: no-store still there';
