# The decision runs before authentication (post_perdir_config): a plaintext
# client of a password-protected "UpgradeRequire TLS" area gets 426, never
# a 401 that would make it send its password in clear.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use MIME::Base64 qw(encode_base64);
use URTest qw(error_log_size error_log_since);
use URReq qw(req);

plan tests => 9;
Test::More->builder->failure_output(\*STDERR);

my $auth = 'Basic ' . encode_base64('alice:s3cret', '');
my $bad  = 'Basic ' . encode_base64('alice:wrong', '');

my $off = error_log_size();
my $r = req(GET => '/secret/');
is $r->{status}, 426, 'plaintext, no credentials -> 426, not 401';
ok !(grep { /^WWW-Authenticate:/mi } $r->{head}), 'no WWW-Authenticate challenge in clear';

$r = req(GET => '/secret/', headers => [ Authorization => $bad ]);
is $r->{status}, 426, 'plaintext with wrong credentials -> 426 (not checked at all)';
unlike error_log_since($off), qr/AH01617|user alice: authentication failure/,
    'auth_basic never looked at the plaintext credentials';

$r = req(GET => '/secret/', tls => 1);
is $r->{status}, 401, 'over TLS, no credentials -> 401';
like $r->{head}, qr/^WWW-Authenticate: Basic realm="secret"/mi, 'challenge over TLS';
$r = req(GET => '/secret/', tls => 1, headers => [ Authorization => $bad ]);
is $r->{status}, 401, 'over TLS, wrong password -> 401';
$r = req(GET => '/secret/', tls => 1, headers => [ Authorization => $auth ]);
is $r->{status}, 200, 'over TLS, right password -> 200';
like $r->{body}, qr{content of /secret/}, 'protected content served';
