# Bad configuration makes "httpd -t" fail with a message naming the
# directive, the argument and what is allowed; good configuration passes.
# Each case is a small config of its own, checked by the real httpd binary.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use File::Temp qw(tempdir);

my $LIBEXEC = `apxs -q LIBEXECDIR`;
chomp $LIBEXEC;
my $vars  = Apache::Test::vars();
my $httpd = $vars->{httpd};
my $so    = "$vars->{top_dir}/.libs/mod_upgrade_required.so";

my $ALLOWED = q{(allowed: TLS, TLS/1.0, TLS/1.1, TLS/1.2, TLS/1.3)};
my @cases = (
    # label, config lines, expected message (undef: Syntax OK)
    [ 'every token family', "UpgradeRequire websocket TLS/1.2 HTTP/2 h2c foo/1.0\n"
      . "UpgradeRequire HTTP/1.1\nUpgradeRequireMode report", undef ],
    [ 'off alone', 'UpgradeRequire off', undef ],
    [ 'trusted proxies', 'UpgradeRequireTrustedProxy 10.0.0.0/8 192.0.2.1 2001:db8::/32', undef ],
    [ 'unknown TLS version', 'UpgradeRequire TLS/2.0',
      "UpgradeRequire: unknown TLS version 'TLS/2.0' $ALLOWED" ],
    [ 'TLS/1.4', 'UpgradeRequire websocket TLS/1.4',
      "UpgradeRequire: unknown TLS version 'TLS/1.4' $ALLOWED" ],
    [ 'HTTP/3', 'UpgradeRequire HTTP/3',
      "UpgradeRequire: unsupported HTTP version 'HTTP/3': httpd cannot serve HTTP/3 (allowed: HTTP/1.1, HTTP/2.0, HTTP/2)" ],
    [ 'HTTP/1.0', 'UpgradeRequire HTTP/1.0',
      "UpgradeRequire: unsupported HTTP version 'HTTP/1.0' (allowed: HTTP/1.1, HTTP/2.0, HTTP/2)" ],
    [ 'off mixed with protocols', 'UpgradeRequire websocket off',
      "UpgradeRequire: 'off' cannot be combined with protocols (allowed: 'UpgradeRequire off' alone, or a list of protocols)" ],
    [ 'duplicate token', 'UpgradeRequire websocket WebSocket',
      "UpgradeRequire: duplicate protocol 'WebSocket' (already given as 'websocket' on this line; each alternative may appear once)" ],
    [ 'duplicate via alias', 'UpgradeRequire HTTP/2 HTTP/2.0',
      "UpgradeRequire: duplicate protocol 'HTTP/2.0' (already given as 'HTTP/2' on this line; each alternative may appear once)" ],
    [ 'invalid characters', 'UpgradeRequire web<socket',
      "UpgradeRequire: invalid protocol token 'web<socket' (a name or name/version made of letters, digits and !#\$%&'*+-.^_`|~, RFC 9110 7.8)" ],
    [ 'empty version', 'UpgradeRequire foo/',
      "UpgradeRequire: invalid protocol token 'foo/' (a name or name/version, RFC 9110 7.8)" ],
    [ 'no argument', 'UpgradeRequire',
      "UpgradeRequire: no protocol given (allowed: 'off', or one or more of websocket, TLS, TLS/1.0..TLS/1.3, HTTP/1.1, HTTP/2, h2c, or another upgrade token)" ],
    [ 'h2 is ALPN', 'UpgradeRequire h2',
      "UpgradeRequire: 'h2' is chosen by TLS ALPN, never by Upgrade (allowed: HTTP/2 for any HTTP/2, h2c for cleartext HTTP/2)" ],
    [ 'off after rules in one section', "<Location /x>\nUpgradeRequire TLS\nUpgradeRequire off\n</Location>",
      qr/UpgradeRequire: 'off' after requirements in the same section \(line \d+\) would silently drop them \(allowed: 'off' alone in a section\)/ ],
    [ 'rules after off in one section', "<Location /x>\nUpgradeRequire off\nUpgradeRequire TLS\n</Location>",
      "UpgradeRequire: requirements after 'UpgradeRequire off' in the same section (allowed: 'off' alone in a section)" ],
    [ 'unknown mode', 'UpgradeRequireMode maybe',
      "UpgradeRequireMode: unknown mode 'maybe' (allowed: enforce, report)" ],
    [ 'bad proxy address', 'UpgradeRequireTrustedProxy 10.0.0.0/33',
      "UpgradeRequireTrustedProxy: invalid address '10.0.0.0/33' (allowed: an IPv4 or IPv6 address, optionally /mask or /prefix length)" ],
    [ 'proxy trust in a directory', "<Directory /tmp>\nUpgradeRequireTrustedProxy 10.0.0.1\n</Directory>",
      "UpgradeRequireTrustedProxy: not allowed in <Directory>, <Location>, <Files> or .htaccess ('10.0.0.1'; allowed: server config and <VirtualHost>)" ],
);

plan tests => 2 * @cases;
Test::More->builder->failure_output(\*STDERR);

my $dir = tempdir(CLEANUP => 1);
for my $c (@cases) {
    my ($label, $lines, $want) = @$c;
    open my $fh, '>', "$dir/httpd.conf" or die $!;
    print $fh <<"CONF";
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:9
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LoadModule mpm_event_module "$LIBEXEC/mod_mpm_event.so"
LoadModule authz_core_module "$LIBEXEC/mod_authz_core.so"
LoadModule upgrade_required_module "$so"
$lines
CONF
    close $fh;
    my $out = `'$httpd' -t -f '$dir/httpd.conf' 2>&1`;
    my $status = $? >> 8;
    if (!defined $want) {
        is $status, 0, "$label: httpd -t accepts it";
        like $out, qr/Syntax OK/, "$label: Syntax OK";
    }
    else {
        isnt $status, 0, "$label: httpd -t fails";
        if (ref $want) {
            like $out, $want, "$label: message";
        }
        else {
            utf8::encode(my $bytes = $want);
            like $out, qr/^\Q$bytes\E$/m, "$label: exact message";
        }
    }
}
