# Subrequests are evaluated: a rule on a file is not bypassed by reaching
# that file through mod_dir's index lookup, a MultiViews variant or an SSI
# <!--#include virtual -->.  A refused index lookup gives the client our
# 426 (one Upgrade line, our body naming the URL it asked for, one UR00001
# line); a refused SSI include or variant is simply not served, its own
# decision stays at trace level and is not exported.  Over TLS the same
# subrequests pass and the content is served.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use URTest qw(t_vars error_log_size error_log_since);
use URReq qw(req expect);

# the unique content of each protected file (t/htdocs/...)
my %secret = (
    subreq => 'subreq-secret-8f3a1c',       # subreq/index.html
    subloc => 'subloc-secret-52d9e7',       # subloc/index.html
    negot  => 'negot-secret-c04b6e',        # negot/doc.html
    ssi    => 'ssi-included-secret-7be21d', # sub-tls/x.txt
);

plan tests => 43;
Test::More->builder->failure_output(\*STDERR);

# ur_access_log text written since $offset; polls up to 5 s for $wait,
# since the access log line is written after the response.
sub access_log_since {
    my ($offset, $wait) = @_;
    my $file = t_vars()->{t_logs} . '/ur_access_log';
    my $deadline = Time::HiRes::time() + 5;
    while (1) {
        my $text = '';
        if (open my $fh, '<', $file) {
            seek $fh, $offset, 0;
            $text = do { local $/; <$fh> } // '';
            close $fh;
        }
        return $text if $text =~ $wait || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}

sub count { my ($re, $text) = @_; return scalar(() = $text =~ /$re/g) }

# ---- mod_dir: the index file is looked up with a subrequest ----------------
my $r = req(GET => '/subreq/index.html');
expect($r, 'direct GET of the protected index file', 426,
       'TLS/1.0, HTTP/1.1');

my $off = error_log_size();
$r = req(GET => '/subreq/');
# today: 200 with the secret, the subrequest is not evaluated
expect($r, 'GET /subreq/ (index subrequest) in plaintext', 426,
       'TLS/1.0, HTTP/1.1');
ok((grep { /\bupgrade\b/i } @{ $r->{connection} }),
   '/subreq/: Connection lists Upgrade')
    or diag "Connection: @{ $r->{connection} }";
like $r->{head}, qr{^Cache-Control: no-store\r?$}mi,
    '/subreq/: Cache-Control: no-store';
# httpd's canned 426 page has the same title: match our own wording
like $r->{body}, qr{<p>This resource cannot be served over the protocol},
    '/subreq/: our 426 page, not the canned one';
like $r->{body},
    qr{reconnect over (?:<a href="[^"]*">)?https://localhost:\d+/subreq/(?!index\.html)},
    '/subreq/: the body names the URL the client asked for';
unlike $r->{body}, qr/\Q$secret{subreq}\E/,
    '/subreq/: the secret is not served';
my $log = error_log_since($off, qr/UR00001/);
Time::HiRes::sleep(0.3);    # a second line would come right after
$log = error_log_since($off);
is count(qr/UR00001: 426 Upgrade Required: unmet requirement 'TLS'/, $log),
    1, '/subreq/: exactly one UR00001 line for the one 426 sent'
    or diag $log;

$r = req(GET => '/subreq/', tls => 1);
is $r->{status}, 200, '/subreq/ over TLS -> 200';
like $r->{body}, qr/\Q$secret{subreq}\E/, '/subreq/ over TLS: the index';

# the same with a <Location> that names only the index file
$r = req(GET => '/subloc/');
expect($r, 'GET /subloc/ (Location on index.html) in plaintext', 426,
       'TLS/1.0, HTTP/1.1');
like $r->{body}, qr{reconnect over (?:<a href="[^"]*">)?https://localhost:\d+/subloc/(?!index\.html)},
    '/subloc/: the body names the URL the client asked for';
unlike $r->{body}, qr/\Q$secret{subloc}\E/,
    '/subloc/: the secret is not served';
$r = req(GET => '/subloc/', tls => 1);
is $r->{status}, 200, '/subloc/ over TLS -> 200';
like $r->{body}, qr/\Q$secret{subloc}\E/, '/subloc/ over TLS: the index';

# ---- mod_negotiation: every MultiViews variant is a subrequest -------------
$r = req(GET => '/negot/doc.html');
expect($r, 'direct GET of the protected variant', 426, 'TLS/1.0, HTTP/1.1');
$r = req(GET => '/negot/doc');
# mod_negotiation drops a variant whose subrequest fails: with the only one
# refused, the client gets 404 (AH00687 in the error log), never the file
isnt $r->{status}, 200, "/negot/doc in plaintext: not 200 ($r->{status})";
unlike $r->{body}, qr/\Q$secret{negot}\E/,
    '/negot/doc in plaintext: the secret is not served';
$r = req(GET => '/negot/doc', tls => 1);
is $r->{status}, 200, '/negot/doc over TLS -> 200';
like $r->{body}, qr/\Q$secret{negot}\E/, '/negot/doc over TLS: the variant';
like $r->{head}, qr{^Content-Location: doc\.html\r?$}mi,
    '/negot/doc over TLS: negotiated to doc.html';

# ---- mod_include: <!--#include virtual="/sub-tls/x.txt" --------------------
# a unique query string finds this request's line in ur_access_log
my $tag = "t=$$-" . int(Time::HiRes::time() * 1000);
my $acc = (-s t_vars()->{t_logs} . '/ur_access_log') // 0;
$off = error_log_size();
$r = req(GET => "/ssi/page.shtml?$tag");
is $r->{status}, 200, 'SSI page in plaintext -> 200';
like $r->{body}, qr/before-include/, 'SSI page: text before the include';
like $r->{body}, qr/after-include/, 'SSI page: text after the include';
unlike $r->{body}, qr/\Q$secret{ssi}\E/,
    'SSI page in plaintext: the TLS-only include is not inserted';
expect($r, 'SSI page in plaintext', 200, undef);
my $line = access_log_since($acc, qr{\Q$tag\E[^\n]*\n});
like $line, qr{"GET /ssi/page\.shtml\?\Q$tag\E HTTP/1\.1" 200 }m,
    'SSI page: its access log line';
like $line, qr{\Q$tag\E HTTP/1\.1" 200 ur_env="-" ur_note="-"}m,
    "SSI page: the include's decision is not exported to the page";
# mod_include logs "unable to include" (error) once the include is refused
$log = error_log_since($off, qr/unable to include|UR0000[12]/, 2);
is count(qr/UR0000[12]/, $log), 0,
    'SSI page: no UR00001/UR00002 line (the client got no 426)'
    or diag $log;
like $log, qr/\[upgrade_required:trace\d\]/,
    "SSI page: the include's own decision is logged at trace level";

$r = req(GET => '/ssi/page.shtml', tls => 1);
is $r->{status}, 200, 'SSI page over TLS -> 200';
like $r->{body}, qr/before-include\n\Q$secret{ssi}\E\n/,
    'SSI page over TLS: the include is inserted';
like $r->{body}, qr/after-include/, 'SSI page over TLS: the rest of the page';

# the included file itself, for comparison
$r = req(GET => '/sub-tls/x.txt');
expect($r, 'direct GET of the included file', 426, 'TLS/1.0, HTTP/1.1');
unlike $r->{body}, qr/\Q$secret{ssi}\E/, 'direct GET: the secret is not served';
$r = req(GET => '/sub-tls/x.txt', tls => 1);
is $r->{status}, 200, 'direct GET of the included file over TLS -> 200';
like $r->{body}, qr/\Q$secret{ssi}\E/, 'direct GET over TLS: the file';
