# Every ```apache block of README.md, and the shipped
# conf/upgrade_required.conf with its examples uncommented, pass "httpd -t"
# in a minimal server that loads the suite's modules and ours: a recipe
# that drifts from the command table (or grows a trailing comment, which
# httpd would read as arguments) fails here.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use File::Temp qw(tempdir);

my $vars  = Apache::Test::vars();
my $httpd = $vars->{httpd};
my $top   = $vars->{top_dir};

open my $rf, '<', "$top/README.md" or die "README.md: $!";
my $readme = do { local $/; <$rf> };
close $rf;
my @blocks;
while ($readme =~ /^```apache\n(.*?)^```$/msg) {
    push @blocks, $1;
}

# the shipped examples: "    #<Location" and "    #UpgradeRequire" lines
# are commented-out configuration, "    # text" lines are prose
open my $cf, '<', "$top/conf/upgrade_required.conf" or die $!;
my $shipped = join '', map { s/^(\s*)#(?=[<A-Z])/$1/r } <$cf>;
close $cf;

plan tests => 2 * (@blocks + 1) + 2;
Test::More->builder->failure_output(\*STDERR);

ok @blocks >= 10, scalar(@blocks) . ' apache blocks found in README.md';

# the version the README names is the one in the source
open my $sf, '<', "$top/mod_upgrade_required.c" or die $!;
my ($version) = map { /^#define UR_VERSION\s+"([^"]+)"/ ? $1 : () } <$sf>;
close $sf;
like $readme, qr/This README describes version \*\*\Q${\ ($version \/\/ '?')}\E\*\*/,
    "README names version " . ($version // '(none found)') . ", as UR_VERSION";

my @load;
open my $mc, '<', "$top/t/modules.conf" or die $!;
push @load, grep { /^\s*LoadModule\s/ } <$mc>;
close $mc;

my $dir = tempdir(CLEANUP => 1);
my $n = 0;
for my $case ((map { [ 'README block ' . ++$n, $_ ] } @blocks),
              [ 'conf/upgrade_required.conf, examples uncommented', $shipped ]) {
    my ($label, $text) = @$case;
    open my $fh, '>', "$dir/httpd.conf" or die $!;
    print $fh <<"CONF", @load, <<"CONF2", $text;
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:9
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
Define APACHE_LOG_DIR "$dir"
CONF
LoadModule upgrade_required_module "$top/.libs/mod_upgrade_required.so"
CONF2
    close $fh;
    my $out = `'$httpd' -t -f '$dir/httpd.conf' 2>&1`;
    my $first = (split /\n/, $text)[0] // '';
    is $? >> 8, 0, "$label ($first): httpd -t accepts it" or diag $out;
    like $out, qr/Syntax OK/, "$label: Syntax OK";
}
