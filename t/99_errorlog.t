# Audit of everything the suite made httpd log since this server started:
# no crash, no error or warning except those the tests provoke on purpose,
# and the module never logs client behaviour above info.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use URTest qw(t_vars);

plan tests => 5;
Test::More->builder->failure_output(\*STDERR);

open my $fh, '<', t_vars()->{error_log} or die "error_log: $!";
my @lines = <$fh>;
close $fh;
# the log accumulates across runs: keep this server's part only
my ($start) = grep { $lines[$_] =~ /resuming normal operations/ } reverse 0 .. $#lines;
@lines = @lines[($start // 0) .. $#lines];

my @expected = (
    qr/UR00004: ErrorDocument 426 http:\/\/example\.invalid\//,      # 07_errordoc
    qr/ht\/bad\/\.htaccess: UpgradeRequire: unknown TLS version/,     # 05_merge
    qr/ht-nooverride\/\.htaccess: UpgradeRequire not allowed here/,  # 05_merge
    qr/ht-all\/\.htaccess: UpgradeRequireTrustedProxy not allowed here/, # 05_merge
    qr/lock-deny\/\.htaccess: UpgradeRequireLock not allowed here/,   # 05_merge
    qr/AH01617: user alice: authentication failure/,                 # 06_auth
    # 15_subrequests: a refused SSI include, a refused only variant
    qr/\[include:error\].*unable to include "\/sub-tls\/x\.txt" in parsed file/,
    qr/AH00687: Negotiation: discovered file.*\/negot\/doc \(None could/,
    qr/AH01882: Init: this version of mod_ssl was compiled against a newer library/,
);

my @crash = grep { /Segmentation fault|exit signal|AH00052|AH00060|double free|stack smashing/ } @lines;
is_deeply \@crash, [], 'no child crashed' or diag @crash;

my @bad = grep {
    my $l = $_;
    $l =~ /\[[\w.]+:(?:warn|error|crit|alert|emerg)\]/ && !grep { $l =~ $_ } @expected
} @lines;
is_deeply \@bad, [], 'no unexpected warning or error' or diag @bad;

my @ours = grep { /\[upgrade_required:(?:warn|error|crit|alert|emerg)\]/ && !/UR00004/ } @lines;
is_deeply \@ours, [], 'the module logs nothing above info at request time';

my @refusals = grep { /\[upgrade_required:info\].*UR00001: 426 Upgrade Required: unmet requirement '[^']+' \(\S+:\d+\): \S/ } @lines;
ok @refusals > 50, scalar(@refusals) . ' refusals logged, each with requirement, file:line and reason';

my @untagged = grep { /\[upgrade_required:(?:info|notice|warn)\]/ && !/UR\d{5}: / } @lines;
is_deeply \@untagged, [], 'every info-or-higher line of ours carries a UR tag';
