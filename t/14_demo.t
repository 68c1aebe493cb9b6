# "make run" must keep working: the demo's own self-check starts it on free
# ports, tries every command it prints (426s, 101 with a real echo over ws://
# and wss://, report mode, exports in its access log) and stops it again.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);

plan tests => 2;
Test::More->builder->failure_output(\*STDERR);

my $out = `'$FindBin::Bin/demo/run' --check 2>&1`;
is $? >> 8, 0, 't/demo/run --check exits 0' or diag $out;
like $out, qr/all \d+ checks passed/, 'every demo check passed';
