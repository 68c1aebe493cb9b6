# Scoping: a section with lines replaces what it inherits, "off" clears it,
# UpgradeRequireMode merges on its own, <If> applies per request,
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
    [ '.htaccess websocket', '/ht/', {}, 426, 'websocket' ],
    [ '.htaccess inherited by a subdirectory', '/ht/inherit/', {}, 426, 'websocket' ],
    [ '.htaccess off in a subdirectory', '/ht/off/', {}, 200, undef ],
    [ '.htaccess TLS replaces websocket', '/ht/tls/', { headers => \@ws }, 426, 'TLS/1.0, HTTP/1.1' ],
    [ '.htaccess TLS over TLS', '/ht/tls/', { tls => 1 }, 200, undef ],
    [ 'rewrite into a TLS area is evaluated again', '/rwsrc/', {}, 426, 'TLS/1.0, HTTP/1.1' ],
);

plan tests => 2 * @cases + 8;
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
    qr/UpgradeRequireTrustedProxy: not allowed in <Directory>, <Location>, <Files> or \.htaccess \('10\.0\.0\.1'; allowed: server config and <VirtualHost>\)/,
    'and a message saying where trust may be configured';

# the 426 for the rewritten request names the target's rule
$off = error_log_size();
req(GET => '/rwsrc/');
like error_log_since($off, qr/UR00001/),
    qr{UR00001: 426 Upgrade Required: unmet requirement 'TLS' \(\S+/upgrade\.conf:\d+\)},
    'the redirected request was refused by the TLS rule';
