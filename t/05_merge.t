# Scoping: a section with lines replaces what it inherits, "off" clears it,
# the mode travels with the lines (a section with only a mode changes what
# it inherits; lines without a mode enforce), UpgradeRequireLock keeps
# .htaccess files to additions, <If> applies per request,
# .htaccess (AllowOverride AuthConfig) works, per-dir rewrites are
# evaluated again, and a bad .htaccess line fails loudly.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(error_log_size error_log_since);
use URReq qw(req expect);

my @ws = (Upgrade => 'websocket', Connection => 'Upgrade',
          'Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version' => 13);

my @cases = (
    # label, path, %req, status, Upgrade
    [ 'parent requires TLS', '/merge/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'parent over TLS', '/merge/', { tls => 1 }, 200, undef ],
    [ 'child "off" clears it', '/merge/off/', {}, 200, undef ],
    [ 'child websocket replaces TLS (plain ws passes)', '/merge/ws/', { headers => \@ws }, 200, undef ],
    [ 'child websocket replaces TLS (TLS alone fails)', '/merge/ws/', { tls => 1 }, 426, 'websocket' ],
    [ 'child with only a mode inherits the rules (report: served)', '/merge/report/', {}, 200, undef ],
    [ '<If> false: no rule', '/cond/', {}, 200, undef ],
    [ '<If> true: TLS required', '/cond/?strict=1', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ '<If> true over TLS', '/cond/?strict=1', { tls => 1 }, 200, undef ],
    [ 'two lines around an <If>: both hold', '/split/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ '... the second one too', '/split/', { tls => 1, proto => 'HTTP/1.0' }, 426, 'HTTP/1.1' ],
    [ '... both met', '/split/', { tls => 1 }, 200, undef ],
    [ '... the <If> replaces them', '/split/?ws=1', { tls => 1 }, 426, 'websocket' ],
    [ '.htaccess websocket', '/ht/', {}, 426, 'websocket' ],
    [ '.htaccess inherited by a subdirectory', '/ht/inherit/', {}, 426, 'websocket' ],
    [ '.htaccess off in a subdirectory', '/ht/off/', {}, 200, undef ],
    [ '.htaccess TLS replaces websocket', '/ht/tls/', { headers => \@ws }, 426, 'TLS/1.0, HTTP/1.1' ],
    [ '.htaccess TLS over TLS', '/ht/tls/', { tls => 1 }, 200, undef ],
    [ 'rewrite into a TLS area is evaluated again', '/rwsrc/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    # the mode travels with the requirements
    [ '<Location> rule beats an .htaccess report mode', '/mt-loc/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'lines without a mode enforce under a report-mode parent', '/mt/strict/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'without a lock an .htaccess <If> can switch a <Location> off', '/lock-no/', {}, 200, undef ],
    # UpgradeRequireLock on: .htaccess files may only add
    [ 'lock: the floor holds', '/lock/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'lock: over TLS', '/lock/', { tls => 1 }, 200, undef ],
    [ 'lock: .htaccess off', '/lock/off/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'lock: .htaccess report mode', '/lock/report/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'lock: .htaccess <If> off and report', '/lock/if/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'lock: .htaccess websocket does not replace TLS', '/lock/replace/', { headers => \@ws }, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'lock: .htaccess websocket is added', '/lock/replace/', { tls => 1 }, 426, 'websocket' ],
    [ 'lock: both held', '/lock/replace/', { tls => 1, headers => \@ws }, 200, undef ],
    [ 'lock: an addition in report mode', '/lock/addreport/', { tls => 1 }, 200, undef ],
    [ 'lock: ... never reports the floor', '/lock/addreport/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
    [ 'lock: an admin section below still decides', '/lock/admin-off/', {}, 200, undef ],
    [ 'AllowOverrideList grants UpgradeRequire', '/aol/', {}, 426, 'websocket' ],
);

plan tests => 2 * @cases + 13;
Test::More->builder->failure_output(\*STDERR);

for my $c (@cases) {
    my ($label, $path, $opt, $status, $upgrade) = @$c;
    expect(req(GET => $path, %$opt), $label, $status, $upgrade);
}

# report mode inherited rules: logged as "would", served
my $off = error_log_size();
req(GET => '/merge/report/');
like error_log_since($off, qr/UR00002/), qr/UR00002: report mode, would answer 426: unmet requirement 'TLS'/,
    'report-mode child logs the inherited requirement';

# bad .htaccess lines: a 500 and a message naming directive, argument, choices
$off = error_log_size();
my $r = req(GET => '/ht/bad/');
is $r->{status}, 500, 'invalid UpgradeRequire in .htaccess -> 500';
like error_log_since($off, qr/TLS\/9\.9/),
    qr{\.htaccess: UpgradeRequire: unknown TLS version 'TLS/9\.9' \(allowed: TLS, TLS/1\.0, TLS/1\.1, TLS/1\.2, TLS/1\.3\)},
    'error log names the directive, the argument and what is allowed';

$off = error_log_size();
$r = req(GET => '/ht-nooverride/');
is $r->{status}, 500, 'UpgradeRequire in .htaccess without AllowOverride AuthConfig -> 500';
like error_log_since($off, qr/not allowed here/), qr/UpgradeRequire not allowed here/,
    'httpd says the directive is not allowed there';

$off = error_log_size();
$r = req(GET => '/ht-all/');
is $r->{status}, 500, 'UpgradeRequireTrustedProxy in .htaccess (AllowOverride All) -> 500';
like error_log_since($off, qr/TrustedProxy/),
    qr/ht-all\/\.htaccess: UpgradeRequireTrustedProxy not allowed here/,
    'httpd itself refuses it: the command table says server config only';

# the 426 for the rewritten request names the target's rule
$off = error_log_size();
req(GET => '/rwsrc/');
like error_log_since($off, qr/UR00001/),
    qr{UR00001: 426 Upgrade Required: unmet requirement 'TLS' \(\S+/upgrade\.conf:\d+\)},
    'the redirected request was refused by the TLS rule';

# each line of a section whose lines an <If> separates names itself
$off = error_log_size();
req(GET => '/split/', tls => 1, proto => 'HTTP/1.0');
my $split_line = do {
    open my $fh, '<', "$FindBin::Bin/conf/upgrade.conf" or die $!;
    my ($in, $at);
    while (my $l = <$fh>) {
        $in ||= $l =~ m{^<Location /split>};
        $at = $., last if $in && $l =~ m{^\s*UpgradeRequire HTTP/1\.1$};
    }
    $at;
};
like error_log_since($off, qr/UR00001/),
    qr{UR00001: 426 Upgrade Required: unmet requirement 'HTTP/1\.1' \(\S+/upgrade\.conf:$split_line\)},
    'the second line of the section is refused under its own file and line';

# UpgradeRequireLock cannot be written in .htaccess (AllowOverride All)
$off = error_log_size();
$r = req(GET => '/lock-deny/');
is $r->{status}, 500, 'UpgradeRequireLock in .htaccess -> 500';
like error_log_since($off, qr/UpgradeRequireLock/),
    qr/lock-deny\/\.htaccess: UpgradeRequireLock not allowed here/,
    'httpd says it is not allowed there';

# report mode under a lock is the .htaccess addition's own
$off = error_log_size();
req(GET => '/lock/addreport/', tls => 1);
like error_log_since($off, qr/UR00002/),
    qr/UR00002: report mode, would answer 426: unmet requirement 'websocket' \(\S+lock\/addreport\/\.htaccess:1\)/,
    'the addition reports with its own file and line';
$off = error_log_size();
req(GET => '/lock/off/');
like error_log_since($off, qr/UR00001/),
    qr/UR00001: 426 Upgrade Required: unmet requirement 'TLS' \(\S+upgrade\.conf:\d+\)/,
    "the refusal names the admin's line";
