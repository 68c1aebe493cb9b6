package URRun;
# Run a command with given bytes on its stdin and a deadline: for clients
# that must be fed a request (openssl s_client) or may hang (ab).  Core Perl.
use strict;
use warnings;
use Exporter 'import';
use File::Temp ();
use POSIX ();

our @EXPORT_OK = qw(run_cmd);

# run_cmd(cmd => [...], stdin => BYTES, timeout => SECS (10)) returns
# (combined stdout+stderr, exit status as in $?).  No shell.  On timeout
# the child is killed and the output so far is returned with status -1 and
# "URRun: timed out" appended, so the caller's assertions fail visibly.
sub run_cmd {
    my %opt = @_;
    my @cmd = @{ $opt{cmd} };
    my $secs = $opt{timeout} // 10;
    my $in = File::Temp->new;
    print $in $opt{stdin} // '';
    close $in;
    my $pid = open(my $out, '-|') // die "URRun: fork: $!\n";
    unless ($pid) {
        open STDIN, '<', $in->filename or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec { $cmd[0] } @cmd }
        print "URRun: cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    my $text = '';
    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $secs;
        1 while sysread($out, $text, 16384, length $text);
        alarm 0;
        1;
    };
    alarm 0;
    unless ($ok) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
        close $out;
        return ($text . "\nURRun: timed out after ${secs}s: @cmd\n", -1);
    }
    close $out;    # waits for the child, sets $?
    return ($text, $?);
}

1;
