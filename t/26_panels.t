# For control panels: "httpd -t -D DUMP_UPGRADE_REQUIRED" prints every
# compiled rule as one JSON object per line (virtual host, section,
# file:line, tokens, mode, lock, Upgrade), and conf/upgrade-required-check
# validates a snippet without the whole server configuration.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(capture);
use JSON::PP ();
use File::Temp qw(tempdir);

plan tests => 25;
Test::More->builder->failure_output(\*STDERR);

my $vars  = Apache::Test::vars();
my $httpd = $vars->{httpd};
my $top   = $vars->{top_dir};
my $so    = "$top/.libs/mod_upgrade_required.so";
my $LIBEXEC = capture('apxs', '-q', 'LIBEXECDIR');
chomp $LIBEXEC;
my $dir = tempdir(CLEANUP => 1);

sub spew { open my $fh, '>', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh }

spew("$dir/httpd.conf", <<"CONF");
ServerRoot "$dir"
ServerName main.example
Listen 127.0.0.1:9
ErrorLog "$dir/error_log"
LoadModule mpm_event_module "$LIBEXEC/mod_mpm_event.so"
LoadModule upgrade_required_module "$so"
UpgradeRequire HTTP/1.1
<VirtualHost 127.0.0.1:9>
    ServerName api.example
    <Location "/v1">
        UpgradeRequire TLS/1.2
        UpgradeRequireMode report
        <If "%{QUERY_STRING} =~ /live/">
            UpgradeRequire websocket h2c
        </If>
        UpgradeRequire HTTP/2
    </Location>
</VirtualHost>
<Directory "/srv/www">
    UpgradeRequire TLS
    UpgradeRequireLock on
</Directory>
CONF

my $out = capture($httpd, '-t', '-D', 'DUMP_UPGRADE_REQUIRED', '-f', "$dir/httpd.conf");
is $? >> 8, 0, 'httpd -t -D DUMP_UPGRADE_REQUIRED succeeds' or diag $out;
my @rules = map { JSON::PP->new->decode($_) } grep { /^\{/ } split /\n/, $out;
is scalar @rules, 5, 'one JSON line per compiled rule';
is_deeply [ map { $_->{line} } @rules ], [ 7, 11, 14, 16, 20 ], 'in configuration order, with their lines';
is $rules[0]{vhost}, 'main.example', 'server config: the main server';
is $rules[0]{section}, '', '... outside any section';
is_deeply $rules[0]{tokens}, ['HTTP/1.1'], '... its tokens';
is $rules[1]{vhost}, 'api.example', 'vhost rule: the vhost name';
is $rules[1]{port}, 9, '... its port';
is $rules[1]{vhost_defined}, "$dir/httpd.conf:8", '... where the vhost is defined';
is $rules[1]{section}, '<Location "/v1">', '... the section';
is $rules[1]{mode}, 'report', '... its mode';
is $rules[1]{upgrade}, 'TLS/1.2, HTTP/1.1', '... the advertised Upgrade';
is $rules[2]{section}, '<Location "/v1"> <If "%{QUERY_STRING} =~ /live/">', 'nested sections, outermost first';
is_deeply $rules[2]{tokens}, [ 'websocket', 'h2c' ], 'alternatives as a list';
is $rules[2]{mode}, 'enforce', 'an <If> with lines of its own enforces';
ok $rules[3]{section} eq '<Location "/v1">' && $rules[3]{mode} eq 'report'
   && "@{ $rules[3]{tokens} }" eq 'HTTP/2',
   "a section's line after an <If>: its section and mode";
ok $rules[4]{lock} && $rules[4]{section} eq '<Directory "/srv/www">', 'the lock is shown';
ok !defined $rules[0]{sunset} && exists $rules[0]{sunset}, 'no schedule: sunset null';
$out = capture($httpd, '-t', '-f', "$dir/httpd.conf");
unlike $out, qr/^\{/m, 'without the define: no dump';
spew("$dir/sched.conf", <<"CONF");
ServerRoot "$dir"
ServerName main.example
Listen 127.0.0.1:9
ErrorLog "$dir/error_log"
LoadModule mpm_event_module "$LIBEXEC/mod_mpm_event.so"
LoadModule upgrade_required_module "$so"
UpgradeRequire TLS
UpgradeRequireSunset 2099-06-01
CONF
$out = capture($httpd, '-t', '-D', 'DUMP_UPGRADE_REQUIRED', '-f', "$dir/sched.conf");
like $out, qr/^\{.*"mode":"schedule","sunset":"Mon, 01 Jun 2099 00:00:00 GMT"/m,
    'a schedule: mode schedule and its sunset';

# ---- one snippet, without the server's configuration ----------------------
my $check = "$top/conf/upgrade-required-check";
local $ENV{UR_MODULE} = $so;
spew("$dir/good.conf", <<'SNIP');
<VirtualHost *:80>
    ServerName shop.example
    <Location "/">
        UpgradeRequire TLS
    </Location>
</VirtualHost>
SNIP
spew("$dir/bad.conf", <<'SNIP');
<Location "/chat">
    UpgradeRequire websockets
</Location>
SNIP
$out = capture($check, "$dir/good.conf");
ok $? == 0 && $out =~ /^Syntax OK$/m, 'upgrade-required-check: a good snippet' or diag $out;
$out = capture($check, "$dir/bad.conf");
isnt $? >> 8, 0, 'a bad snippet fails';
like $out, qr{^AH00526: Syntax error on line 2 of \Q$dir\E/bad\.conf:\nUpgradeRequire: unknown protocol 'websockets', did you mean 'websocket'\?}m,
    'with the file, line, directive and the right spelling';
$out = capture($check, '--dump', "$dir/good.conf");
like $out, qr/^\{"vhost":"shop\.example","port":80,.*"tokens":\["TLS"\],"mode":"enforce"/m,
    '--dump: the compiled rule of the snippet';
$out = capture($check);
is $? >> 8, 2, 'no file: usage error';
