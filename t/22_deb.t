# The Debian package, for real: "make deb" builds it (lintian-clean), and it
# is installed into this machine's own apache2 with apt-get, served from on
# a loopback-only ports.conf, upgraded over an admin-edited conffile,
# disabled by the admin and reinstalled, removed and purged.  /etc/apache2
# and /var/lib/apache2 must come out exactly as they went in (names, types,
# owners, modes, sizes, contents, link targets).
#
# Needs root, as CI runs it: anything missing fails the file, nothing is
# skipped.  An apache2 that was running before is restarted with its own
# configuration at the end; one that was not is left stopped.  The test
# httpd of t/TEST has its own configuration and ports and is not touched.
use strict;
use warnings FATAL => 'all';
use Test::More;
use Cwd ();
use Digest::SHA ();
use File::Find ();
use File::Temp ();
use FindBin;
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use lib "$FindBin::Bin/lib";
use URTest qw(capture);

my $top  = Cwd::abs_path("$FindBin::Bin/..");
my $PKG  = 'libapache2-mod-upgrade-required';
my $ETC  = '/etc/apache2';
my $STATE = '/var/lib/apache2';
my $PORTS = "$ETC/ports.conf";
my $SNIPPET = "$ETC/conf-enabled/zz-ur-deb-test.conf";
my $LOAD = "$ETC/mods-available/upgrade_required.load";
my $CONF = "$ETC/mods-available/upgrade_required.conf";
my $SO   = '/usr/lib/apache2/modules/mod_upgrade_required.so';
my $PIDFILE = '/var/run/apache2/apache2.pid';   # /etc/apache2/envvars

# The machine's apache2 and Debian tools, not whatever the caller set up
# (11_install.t points these at a scratch tree; make passes MAKEFLAGS on).
delete @ENV{qw(APACHE_CONFDIR APACHE_ENVVARS APACHE_STATE_DIRECTORY
    APACHE_MODS_AVAILABLE APACHE_MODS_ENABLED APACHE_ARGUMENTS
    MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL DESTDIR DEBIAN_CONF)};
$ENV{DEBIAN_FRONTEND} = 'noninteractive';
$ENV{PATH} = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$ENV{PATH}";

sub slurp { open my $fh, '<', $_[0] or return undef; local $/; <$fh> }
sub spew  { open my $fh, '>', $_[0] or die "write $_[0]: $!\n"; print $fh $_[1]; close $fh or die "$_[0]: $!\n" }

# ---- nothing may be missing ------------------------------------------------
my @missing;
push @missing, 'root (apt-get and /etc/apache2; CI runs make test as root)' if $> != 0;
for my $cmd (qw(dpkg-buildpackage dh dh_apache2 lintian apt-get dpkg-deb
                dpkg-query dpkg-parsechangelog readelf apache2ctl a2enmod
                a2dismod a2query curl timeout)) {
    push @missing, "command $cmd (t/deps installs it)"
        unless grep { -x "$_/$cmd" } split /:/, $ENV{PATH};
}
# Ours to install and purge only if the machine has no copy of its own.
my $status = capture('dpkg-query', '-W', '-f=${Status}', $PKG);
push @missing, "$PKG not installed already (it is: '$status'; this test "
    . "installs and purges it, so it refuses to touch an existing one)"
    if $status =~ /installed|config-files|half|unpacked/;
for my $f ($LOAD, $CONF, $SO) {
    push @missing, "no $f left by make install (make uninstall first: "
        . "dpkg would take it over)" if -e $f;
}
-f $PORTS or push @missing, "$PORTS";
if (@missing) {
    fail("needs $_") for @missing;
    done_testing();
    exit 1;
}

# ---- the state that has to come back ----------------------------------------
sub tree_state {
    my @lines;
    File::Find::find({ no_chdir => 1, wanted => sub {
        my @st = lstat $_ or return;
        my $what = -l _ ? 'link ' . readlink($_)
                 : -f _ ? 'file ' . Digest::SHA->new(256)->addfile($_)->hexdigest
                 : -d _ ? 'dir' : 'other';
        push @lines, sprintf '%s %o %d:%d %d %s', $_, $st[2], @st[4, 5],
            (-d _ ? 0 : $st[7]), $what;
    } }, grep { -d } @_);
    return join "\n", sort @lines;
}
my $before = tree_state($ETC, $STATE);
my $before_etc = tree_state($ETC);
my $before_state = tree_state($STATE);
my %state_dirs = map { $_ => 1 } grep { -d } glob "$STATE/*/*";
my @ports_st = stat $PORTS;
my $ports_orig = slurp($PORTS);

sub pid_running {
    my $pid = slurp($PIDFILE) // return 0;
    ($pid) = $pid =~ /(\d+)/ or return 0;
    return kill(0, $pid) ? $pid : 0;
}
my $was_running = pid_running();

my $tmp = File::Temp::tempdir('ur-deb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;                  # _apt reads the .debs, www-data the docroot

# ---- put everything back, also when a check dies half-way --------------------
sub stop_apache {
    return unless pid_running();
    capture('apache2ctl', 'stop');
    for (1 .. 150) {
        last unless pid_running();
        Time::HiRes::sleep(0.1);
    }
}
my $restored;
sub restore {
    return if $restored++;
    stop_apache();
    unlink $SNIPPET;
    my $st = capture('dpkg-query', '-W', '-f=${Status}', $PKG);
    capture('timeout', '300', 'apt-get', 'purge', '-y', '-q',
            '-o', 'DPkg::Lock::Timeout=60', $PKG)
        if $st =~ /installed|config-files|half|unpacked/;
    # a2enmod and a2dismod (the admin's, and the maintainer scripts') make
    # their state directories on first use and never remove them
    for my $d (grep { !$state_dirs{$_} } glob "$STATE/*/*") {
        rmdir $d;    # only if empty
    }
    if (defined $ports_orig) {
        spew($PORTS, $ports_orig);
        chown @ports_st[4, 5], $PORTS;
        chmod $ports_st[2] & 07777, $PORTS;
        utime @ports_st[8, 9], $PORTS;
    }
    # maintainer scripts may have (re)started it on the test's ports.conf
    stop_apache();
    if ($was_running) {
        capture('apache2ctl', 'start');
        for (1 .. 100) {
            last if pid_running();
            Time::HiRes::sleep(0.1);
        }
    }
}
END { local $?; restore() }
$SIG{$_} = sub { die "t/22_deb.t: caught SIG$_[0]\n" } for qw(INT TERM HUP);

# ---- the version: defined once, in the source --------------------------------
my ($version) = (slurp("$top/mod_upgrade_required.c") // '')
    =~ /^#define\s+UR_VERSION\s+"([^"]+)"/m;
ok defined $version, "UR_VERSION in mod_upgrade_required.c" or BAIL_OUT('no version');
my $clog = capture('dpkg-parsechangelog', '-l', "$top/conf/debian/changelog", '-S', 'Version');
chomp $clog;
is $clog, $version, "conf/debian/changelog is at UR_VERSION ($version)";

# ---- make deb ----------------------------------------------------------------
my $out = capture('make', '-s', '-C', $top, 'deb');
is $?, 0, 'make deb succeeds' or diag $out;
like $out, qr/^deb: lintian clean$/m, 'lintian ran and failed on nothing';
unlike $out, qr/^[EW]: /m, 'no lintian error or warning' or diag $out;
my $arch = capture('dpkg', '--print-architecture');
chomp $arch;
my $deb   = "$top/dist/${PKG}_${version}_$arch.deb";
my $dbg   = "$top/dist/$PKG-dbgsym_${version}_$arch.deb";
ok -f $deb, "dist/${PKG}_${version}_$arch.deb" or BAIL_OUT("no .deb\n$out");
ok -f $dbg || -f ($dbg =~ s/\.deb$/.ddeb/r), 'and its -dbgsym package';

my $field = sub { my $v = capture('dpkg-deb', '-f', $deb, $_[0]); chomp $v; $v };
is $field->('Version'), $version, 'package version is UR_VERSION';
like $field->('Depends'), qr/(^|, )apache2-api-20120211(,|$)/,
    'depends on the module ABI apache2-api-20120211';
my $conffiles = capture('sh', '-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -xO ./conffiles', 'sh', $deb);
is $conffiles, "$CONF\n$LOAD\n", '.conf and .load are conffiles';
for my $s (qw(postinst prerm postrm)) {
    my $text = capture('sh', '-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -xO ./"$2"', 'sh', $deb, $s);
    like $text, qr{apache2-maintscript-helper.*apache2_invoke (en|dis)mod \$conf}s,
        "$s goes through apache2-maintscript-helper";
}

# ---- install -----------------------------------------------------------------
my $port;
for my $p (map { 18426 + $_ * 7 } 0 .. 40) {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                  Listen => 1, ReuseAddr => 0) or next;
    close $s;
    $port = $p;
    last;
}
ok $port, "a free loopback port ($port)" or BAIL_OUT('no free port');
spew($PORTS, "# written by mod_upgrade_required's t/22_deb.t, restored after it\n"
           . "Listen 127.0.0.1:$port\n");

sub apt {
    my $o = capture('timeout', '300', 'apt-get', '-y', '-q',
                    '-o', 'DPkg::Lock::Timeout=60', @_);
    return $o;
}
sub enabled {
    return (readlink("$ETC/mods-enabled/upgrade_required.load") // '') eq
               '../mods-available/upgrade_required.load'
        && (readlink("$ETC/mods-enabled/upgrade_required.conf") // '') eq
               '../mods-available/upgrade_required.conf';
}
sub none_enabled {
    return !grep { -e $_ || -l $_ } map { "$ETC/mods-enabled/upgrade_required.$_" } qw(load conf);
}
sub installed_version {
    my $v = capture('dpkg-query', '-W', '-f=${Status} ${Version}', $PKG);
    return $v =~ /^install ok installed (\S+)$/ ? $1 : '';
}

$out = apt('install', $deb);
is $?, 0, "apt-get install -y $deb" or diag $out;
is installed_version(), $version, "$PKG $version installed";
ok enabled(), 'postinst enabled the module (mods-enabled links)' or diag $out;
ok -e "$STATE/module/enabled_by_maint/upgrade_required",
    'as enabled by the maintainer script (a2query state)';
is slurp($LOAD), "LoadModule upgrade_required_module $SO\n", 'the .load';
is slurp($CONF), slurp("$top/conf/upgrade_required.conf"), 'the .conf as shipped';
my $readelf = capture('readelf', '-S', '-n', $SO);
unlike $readelf, qr/\.symtab|\.debug_info/, 'the .so is stripped';
my ($build_id) = $readelf =~ /Build ID: ([0-9a-f]+)/;
my $dbg_files = capture('dpkg-deb', '-c', -f $dbg ? $dbg : $dbg =~ s/\.deb$/.ddeb/r);
ok $build_id && $dbg_files =~ m{usr/lib/debug/\.build-id/\Q${\ substr($build_id, 0, 2)}\E/\Q${\ substr($build_id, 2)}\E\.debug},
    "the -dbgsym package has its debug symbols (build-id $build_id)" or diag $dbg_files;
my $doc = "/usr/share/doc/$PKG";
like slurp("$doc/copyright") // '',
    qr{\AFormat: https://www\.debian\.org/doc/packaging-manuals/copyright-format/1\.0/\n.*^Copyright: \d{4} .+^License: Apache-2\.0$}ms,
    "$doc/copyright is DEP-5 and names the holder and Apache-2.0";
my $installed_log = capture('zcat', "$doc/changelog.gz");
like $installed_log, qr/^\Q$PKG\E \(\Q$version\E\) /, "$doc/changelog.gz starts at $version";

$out = capture('apache2ctl', 'configtest');
ok $? == 0 && $out =~ /Syntax OK/, 'apache2ctl configtest with the module enabled' or diag $out;

# ---- serve a 426 from the machine's own apache2 --------------------------------
mkdir "$tmp/htdocs" or die "mkdir: $!";
spew("$tmp/htdocs/index.html", "ur-deb-test\n");
chmod 0644, "$tmp/htdocs/index.html";
spew($SNIPPET, <<"EOF");
# written by mod_upgrade_required's t/22_deb.t, removed after it
ErrorLog "$tmp/error.log"
LogLevel upgrade_required:info
<VirtualHost 127.0.0.1:$port>
    ServerName ur-deb-test.invalid
    DocumentRoot "$tmp/htdocs"
    ErrorLog "$tmp/error.log"
    CustomLog "$tmp/access.log" combined
    <Directory "$tmp/htdocs">
        Require all granted
    </Directory>
    <Location "/ur-deb-test">
        UpgradeRequire TLS
    </Location>
</VirtualHost>
EOF
$out = capture('apache2ctl', 'configtest');
ok $? == 0 && $out =~ /Syntax OK/, 'configtest with a test site using UpgradeRequire'
    or diag $out;
# apache2ctl start runs apache2 itself (this sandbox has no systemd; under
# systemd it goes through systemctl, with the same /etc/apache2).  A server
# that a maintainer script already started (no policy-rc.d denying it) is
# restarted instead.
$out = capture('apache2ctl', pid_running() ? 'restart' : 'start');
my $up;
for (1 .. 100) {
    last if $up = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1);
    Time::HiRes::sleep(0.1);
}
ok $up, "apache2 started, listening on 127.0.0.1:$port" or diag $out, slurp("$tmp/error.log") // '';
close $up if $up;

my $head = capture('curl', '-sS', '--max-time', '10', '-o', '/dev/null', '-D', '-',
                   "http://127.0.0.1:$port/ur-deb-test/");
$head =~ s/\r//g;
like $head, qr{\AHTTP/1\.1 426 }, 'GET /ur-deb-test/: 426' or diag $head;
like $head, qr{^Upgrade: TLS/1\.0, HTTP/1\.1$}m, 'with Upgrade: TLS/1.0, HTTP/1.1';
like $head, qr{^Connection: Upgrade}mi, 'and Connection: Upgrade';
$head = capture('curl', '-sS', '--max-time', '10', "http://127.0.0.1:$port/");
is $head, "ur-deb-test\n", 'GET /: the page, no requirement there';
my $elog = slurp("$tmp/error.log") // '';
my @loaded = $elog =~ /^.*UR00006: mod_upgrade_required \Q$version\E loaded$/mg;
is scalar(@loaded), 1, "error log: UR00006 mod_upgrade_required $version loaded, once"
    or diag $elog;
like $elog, qr/UR00001: 426 Upgrade Required/, 'error log: UR00001 for the 426';

stop_apache();
ok !pid_running(), 'apache2ctl stop: apache2 stopped';
unlink $SNIPPET or die "unlink $SNIPPET: $!";

# ---- upgrade over an edited conffile (the admin keeps theirs) -------------------
my $edit = "# t/22_deb.t: the admin's own line\n";
spew($CONF, slurp($CONF) . $edit);
my $admins = slurp($CONF);
# The next version, with a changed .conf: dpkg must ask, and --force-confold
# answers as an admin keeping their file would.
my $up_version = "$version+urtest1";
my $tree = "$tmp/upgrade";
$out = capture('dpkg-deb', '-R', $deb, $tree);
is $?, 0, 'unpack the package to make an upgrade' or diag $out;
my $shipped_new = slurp("$tree$CONF") . "# a change in the next version\n";
spew("$tree$CONF", $shipped_new);
my $ctl = slurp("$tree/DEBIAN/control");
$ctl =~ s/^Version: .*$/Version: $up_version/m or die "no Version in control\n";
spew("$tree/DEBIAN/control", $ctl);
$out = capture('sh', '-c', 'cd "$1" && find etc usr -type f | sort | xargs md5sum > DEBIAN/md5sums', 'sh', $tree);
my $up_deb = "$tmp/${PKG}_${up_version}_$arch.deb";
$out .= capture('dpkg-deb', '--root-owner-group', '-b', $tree, $up_deb);
is $?, 0, "built $PKG $up_version with a changed .conf" or diag $out;
chmod 0644, $up_deb;

$out = apt('install', '-o', 'Dpkg::Options::=--force-confold', $up_deb);
is $?, 0, "upgrade to $up_version with --force-confold" or diag $out;
is installed_version(), $up_version, "$up_version installed";
is slurp($CONF), $admins, "the admin-edited $CONF survived the upgrade";
is slurp("$CONF.dpkg-dist"), $shipped_new, 'the new one is next to it as .dpkg-dist';
ok enabled(), 'still enabled after the upgrade';

# ---- disabled by the admin: a reinstall leaves it disabled ---------------------
$out = capture('a2dismod', '-q', 'upgrade_required');
is $?, 0, 'a2dismod upgrade_required (the admin)' or diag $out;
capture('a2query', '-q', '-m', 'upgrade_required');
is $? >> 8, 32, 'a2query: disabled by the admin';
$out = apt('install', '--reinstall', $up_deb);
is $?, 0, "apt-get install --reinstall $up_version" or diag $out;
ok none_enabled(), 'postinst left it disabled' or diag $out;
like $out, qr/disabled by local admin/, 'apache2-maintscript-helper said why';
capture('a2query', '-q', '-m', 'upgrade_required');
is $? >> 8, 32, 'a2query: still disabled by the admin';
is slurp($CONF), $admins, 'the edited .conf survived the reinstall too';

# ---- remove disables it, purge leaves nothing ---------------------------------
$out = capture('a2enmod', '-q', 'upgrade_required');
ok $? == 0 && enabled(), 'a2enmod upgrade_required (the admin again)' or diag $out;
$out = apt('remove', $PKG);
is $?, 0, "apt-get remove $PKG" or diag $out;
ok none_enabled(), 'remove disabled the module (no mods-enabled links)';
ok !-e $SO, 'the .so is gone';
ok -e $CONF && -e $LOAD, 'the conffiles stay until purge';
$out = capture('apache2ctl', 'configtest');
ok $? == 0 && $out =~ /Syntax OK/, 'configtest after remove' or diag $out;

$out = apt('purge', $PKG);
is $?, 0, "apt-get purge $PKG" or diag $out;
like capture('dpkg-query', '-W', '-f=${Status}', $PKG),
    qr/^(|unknown ok not-installed|dpkg-query: no packages found matching \S+\n)$/,
    'not installed, no config-files left';
ok !-e "/usr/share/doc/$PKG", "/usr/share/doc/$PKG is gone";

spew($PORTS, $ports_orig);
chown @ports_st[4, 5], $PORTS;
chmod $ports_st[2] & 07777, $PORTS;
is tree_state($ETC), $before_etc, "purged, and with ports.conf restored: $ETC exactly as before";
{
    my %was = map { $_ => 1 } split /\n/, $before_state;
    my %now = map { $_ => 1 } split /\n/, tree_state($STATE);
    my @new = map { /^(\S+)/ } grep { !$was{$_} } sort keys %now;
    my @unexpected = ((map { "gone: $_" } grep { !$now{$_} } sort keys %was),
        map { "new: $_" } grep {
            !(m{^\Q$STATE\E/(module|conf|site)/(en|dis)abled_by_(admin|maint)$}
              && -d && !glob("$_/*"))
        } @new);
    is "@unexpected", '', "purged: $STATE as before but for a2enmod's "
        . "empty state directories (@new)";
}

restore();
my $after = tree_state($ETC, $STATE);
my %was = map { $_ => 1 } split /\n/, $before;
my %now = map { $_ => 1 } split /\n/, $after;
ok $after eq $before, "$ETC and $STATE exactly as before (ports.conf restored)"
    or diag join "\n", (map { "gone:  $_" } grep { !$now{$_} } sort keys %was),
                       (map { "added: $_" } grep { !$was{$_} } sort keys %now);
is !!pid_running(), !!$was_running, 'apache2 running again only if it was before';

done_testing();
