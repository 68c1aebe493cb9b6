# make install / uninstall into a DESTDIR, and a2enmod / a2dismod against a
# scratch copy of /etc/apache2.  The real /etc/apache2 and a2enmod's state
# directory are snapshotted and must come out untouched.  Needs no httpd.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Cwd ();
use File::Find ();
use File::Temp ();
use FindBin;
use lib "$FindBin::Bin/lib";
use URTest qw(capture);

my $top = Cwd::abs_path("$FindBin::Bin/..");
my $APXS = $ENV{APXS} || 'apxs';

sub apxs_q { my $v = capture($APXS, '-q', $_[0]); chomp $v; $v }

sub slurp { open my $fh, '<', $_[0] or return undef; local $/; <$fh> }

# Everything a stray write would change: names, modes, sizes, mtimes, links.
sub tree_state {
    my @lines;
    File::Find::find({ no_chdir => 1, wanted => sub {
        my @st = lstat $_;
        push @lines, join ' ', $_, @st[2, 7, 9],
            (-l $_ ? readlink $_ : '');
    } }, grep { -d } @_);
    return join "\n", sort @lines;
}

my $libexec = apxs_q('LIBEXECDIR');
my $httpd   = apxs_q('SBINDIR') . '/' . apxs_q('TARGET');
die "install.t: apxs -q LIBEXECDIR gave nothing (apache2-dev missing?)\n"
    unless $libexec =~ m{^/};

my @real = ('/etc/apache2', '/var/lib/apache2');
my $before = tree_state(@real);

my $tmp   = File::Temp::tempdir('ur-install-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $dest  = "$tmp/dest";
my $avail = "$dest/etc/apache2/mods-available";

# The sub-make must not inherit how the outer "make test" was called
# (command-line variables travel in MAKEFLAGS).
delete @ENV{qw(MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL DESTDIR DEBIAN_CONF)};
sub make { capture('make', '-s', '-C', $top, @_) }

my $out = make('install', "DESTDIR=$dest");
is $?, 0, 'make install DESTDIR=... succeeds' or diag $out;

my $so = "$dest$libexec/mod_upgrade_required.so";
ok -f $so, "module installed under DESTDIR$libexec";
is sprintf('%o', (stat $so)[2] & 07777), '644', 'module mode 0644';
is slurp($so), slurp("$top/.libs/mod_upgrade_required.so"), 'it is the built .so';

is slurp("$avail/upgrade_required.load"),
    "LoadModule upgrade_required_module $libexec/mod_upgrade_required.so\n",
    '.load names the real LIBEXECDIR, not DESTDIR';
is slurp("$avail/upgrade_required.conf"), slurp("$top/conf/upgrade_required.conf"),
    '.conf installed as shipped';

# a2enmod honours APACHE_CONFDIR (and sources its envvars) but records its
# "enabled_by_admin" markers in APACHE_STATE_DIRECTORY, /var/lib/apache2 by
# default: both must point into the scratch tree.
my $conf = "$tmp/etc/apache2";
mkdir "$tmp/etc" or die "mkdir: $!";
$out = capture('cp', '-a', '/etc/apache2', $conf);
is $?, 0, 'scratch copy of /etc/apache2' or diag $out;
capture('cp', "$avail/upgrade_required.load", "$avail/upgrade_required.conf",
        "$conf/mods-available/");

local $ENV{APACHE_CONFDIR} = $conf;
local $ENV{APACHE_STATE_DIRECTORY} = "$tmp/state";
delete local @ENV{qw(APACHE_ENVVARS APACHE_MODS_AVAILABLE APACHE_MODS_ENABLED)};

$out = capture('a2enmod', 'upgrade_required');
is $?, 0, 'a2enmod upgrade_required (scratch)' or diag $out;
is readlink("$conf/mods-enabled/upgrade_required.load"),
    '../mods-available/upgrade_required.load', 'mods-enabled .load link';
is readlink("$conf/mods-enabled/upgrade_required.conf"),
    '../mods-available/upgrade_required.conf', 'mods-enabled .conf link';
ok -e "$tmp/state/module/enabled_by_admin/upgrade_required",
    'a2enmod state marker went to the scratch state directory';

# The enabled pair must parse.  The .load points at the real LIBEXECDIR,
# where nothing is installed, so the built module is loaded first via -C and
# the .load's own LoadModule is then skipped as a duplicate.
$out = capture('/bin/sh', '-c',
    '. "$1/envvars" && exec "$2" -t -d "$1" -f "$1/apache2.conf" -C "$3"',
    'sh', $conf, $httpd,
    "LoadModule upgrade_required_module $top/.libs/mod_upgrade_required.so");
like $out, qr/Syntax OK/, 'scratch config with the module enabled: apache2 -t'
    or diag $out;

$out = capture('a2dismod', 'upgrade_required');
is $?, 0, 'a2dismod upgrade_required (scratch)' or diag $out;
ok !-e "$conf/mods-enabled/upgrade_required.load"
    && !-l "$conf/mods-enabled/upgrade_required.load"
    && !-l "$conf/mods-enabled/upgrade_required.conf", 'links removed';

# Uninstalling an enabled module would leave a dangling link that stops
# httpd from starting: refused.
mkdir "$dest/etc/apache2/mods-enabled";
symlink '../mods-available/upgrade_required.load',
    "$dest/etc/apache2/mods-enabled/upgrade_required.load" or die "symlink: $!";
$out = make('uninstall', "DESTDIR=$dest");
ok $? != 0 && -f $so, 'make uninstall refuses while enabled' or diag $out;
unlink "$dest/etc/apache2/mods-enabled/upgrade_required.load";

$out = make('uninstall', "DESTDIR=$dest");
is $?, 0, 'make uninstall DESTDIR=... succeeds' or diag $out;
ok !-e $so && !-e "$avail/upgrade_required.load"
    && !-e "$avail/upgrade_required.conf", 'uninstall removes all three files';

is tree_state(@real), $before, 'real /etc/apache2 and /var/lib/apache2 untouched';

done_testing();
