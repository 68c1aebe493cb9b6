package URChrome;
# Headless Chromium (Debian package "chromium") driven over the DevTools
# protocol with --remote-debugging-pipe: fd 3 carries commands to Chromium,
# fd 4 its replies and events, each message NUL-terminated JSON.  No TCP
# debugging port, no npm or CPAN module: core Perl only.
#
#   my $c = URChrome->new(log => "$t_logs/chromium.log",
#                         flags => [...], deadline => time + 45);
#   my $tab = $c->open_tab($url);            # {session, target, error}
#   my $v = $c->poll($tab, $js_expr, timeout => 8);
#   my $png = $c->screenshot($tab);
#   $c->close_tab($tab);
#   $c->quit;                                # also done by DESTROY and END
#
# Every wait is bounded: each call has its own timeout, and none of them
# runs past the object's overall deadline (if given).  Chromium runs in a
# process group of its own, with HOME and XDG dirs inside a fresh profile
# dir; quit() closes the browser, kills the group if it lingers and
# removes the profile dir.
use strict;
use warnings;
use POSIX ();
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);
use JSON::PP ();
use File::Temp ();
use File::Path ();
use IO::Select ();
use MIME::Base64 ();
use Time::HiRes ();

our @FLAGS = (qw(--headless --no-sandbox --disable-gpu --disable-quic
    --no-first-run --no-default-browser-check --disable-background-networking
    --disable-component-update --disable-sync --disable-extensions
    --password-store=basic --use-mock-keychain --mute-audio),
    '--disable-features=Translate,MediaRouter,OptimizationHints',
    '--window-size=1024,768');

my %live;       # pid -> object, for the END safety net

sub chromium_bin {
    for (qw(/usr/bin/chromium /usr/bin/chromium-browser)) {
        return $_ if -x $_;
    }
    return;
}

sub _now { Time::HiRes::time() }

# Make $fd exactly descriptor $n in this (child) process, inheritable.
sub _to_fd {
    my ($fd, $n) = @_;
    if ($fd == $n) {
        open my $fh, '<&=', $fd or POSIX::_exit(126);
        fcntl($fh, F_SETFD, fcntl($fh, F_GETFD, 0) & ~FD_CLOEXEC);
    } else {
        POSIX::dup2($fd, $n) // POSIX::_exit(126);  # dup2 clears CLOEXEC
    }
}

sub new {
    my ($class, %opt) = @_;
    my $bin = $opt{bin} || chromium_bin()
        or die "URChrome: no chromium binary (t/deps installs Debian's chromium)\n";
    my $prof = File::Temp::tempdir('urchrome-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    my $log  = $opt{log} || '/dev/null';
    pipe(my $cmd_r, my $cmd_w) or die "URChrome: pipe: $!\n";
    pipe(my $ev_r,  my $ev_w)  or die "URChrome: pipe: $!\n";
    my $pid = fork // die "URChrome: fork: $!\n";
    unless ($pid) {
        POSIX::setpgid(0, 0);     # own group: quit() can end every helper
        open STDIN,  '<',  '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>>', $log;
        # move both ends clear of 3/4 first so the dup2s cannot clobber them
        my $c = POSIX::dup(fileno $cmd_r);
        my $e = POSIX::dup(fileno $ev_w);
        $c = POSIX::dup($c) while $c <= 4;
        $e = POSIX::dup($e) while $e <= 4;
        _to_fd($c, 3);
        _to_fd($e, 4);
        # keep ~/.pki, ~/.config, caches out of the real home directory
        $ENV{HOME} = $prof;
        $ENV{XDG_CONFIG_HOME} = "$prof/.config";
        $ENV{XDG_CACHE_HOME}  = "$prof/.cache";
        delete $ENV{DISPLAY};
        { no warnings 'exec';
          exec $bin, @FLAGS, @{ $opt{flags} || [] }, "--user-data-dir=$prof/profile",
               '--remote-debugging-pipe', 'about:blank'; }
        POSIX::_exit(127);
    }
    close $cmd_r;
    close $ev_w;
    $cmd_w->autoflush(1);
    my $self = bless {
        pid => $pid, w => $cmd_w, r => $ev_r, buf => '', id => 0, prof => $prof,
        json => JSON::PP->new->utf8->canonical, deadline => $opt{deadline},
        owner => $$,
    }, $class;
    $live{$pid} = $self;
    return $self;
}

# Seconds left for a wait of $want seconds under the overall deadline.
sub _budget {
    my ($self, $want) = @_;
    return $want unless $self->{deadline};
    my $left = $self->{deadline} - _now();
    die "URChrome: overall deadline reached\n" if $left <= 0;
    return $left < $want ? $left : $want;
}

# Send a command and wait for its reply (events in between are dropped).
# Returns the reply's result hash; dies on a protocol error, a dead
# browser or after $timeout (10) seconds.
sub call {
    my ($self, $method, $params, %o) = @_;
    die "URChrome: browser not running\n" unless $self->{pid};
    # after one unanswered command, do not wait again for every later one
    die "URChrome: $method not sent: $self->{broken}" if $self->{broken};
    my $timeout = $self->_budget($o{timeout} // 10);
    my $id = ++$self->{id};
    my %m = (id => $id, method => $method, params => $params || {});
    $m{sessionId} = $o{session} if $o{session};
    {
        local $SIG{PIPE} = 'IGNORE';
        my $data = $self->{json}->encode(\%m) . "\0";
        while (length $data) {
            my $n = syswrite $self->{w}, $data;
            die "URChrome: $method: cannot write to chromium: $!\n" unless $n;
            substr($data, 0, $n, '');
        }
    }
    my $deadline = _now() + $timeout;
    my $sel = IO::Select->new($self->{r});
    while (1) {
        while ((my $i = index($self->{buf}, "\0")) >= 0) {
            my $raw = substr($self->{buf}, 0, $i + 1, '');
            chop $raw;
            my $msg = eval { $self->{json}->decode($raw) } or next;
            next unless defined $msg->{id} && $msg->{id} == $id;
            die "URChrome: $method: $msg->{error}{message}\n" if $msg->{error};
            return $msg->{result} || {};
        }
        my $left = $deadline - _now();
        if ($left <= 0) {
            $self->{broken} = sprintf("no reply to %s within %.1f s\n",
                                      $method, $timeout);
            die "URChrome: $self->{broken}";
        }
        next unless $sel->can_read($left < 0.5 ? $left : 0.5);
        my $n = sysread($self->{r}, $self->{buf}, 1 << 16, length $self->{buf});
        unless ($n) {
            $self->{broken} = "chromium closed the pipe (see its log)\n";
            die "URChrome: $self->{broken}";
        }
    }
}

# A new tab navigated to $url.  Returns {session, target, error}: error is
# Chromium's errorText when the navigation itself failed (net::ERR_...).
sub open_tab {
    my ($self, $url, %o) = @_;
    my $t = $self->call('Target.createTarget', { url => 'about:blank' });
    my $s = $self->call('Target.attachToTarget',
        { targetId => $t->{targetId}, flatten => JSON::PP::true });
    my $tab = { target => $t->{targetId}, session => $s->{sessionId} };
    my $nav = $self->call('Page.navigate', { url => $url },
                          session => $tab->{session}, timeout => $o{timeout} // 10);
    $tab->{error} = $nav->{errorText} if $nav->{errorText};
    return $tab;
}

# Value of the JavaScript expression $expr in $tab (returnByValue).
sub evaluate {
    my ($self, $tab, $expr, %o) = @_;
    my $r = $self->call('Runtime.evaluate',
        { expression => $expr, returnByValue => JSON::PP::true },
        session => $tab->{session}, timeout => $o{timeout} // 5);
    return $r->{result}{value};
}

# Evaluate $expr every 0.1 s until it is defined and not $o{pending}
# ('pending'), for at most $o{timeout} (10) seconds; the last value.
sub poll {
    my ($self, $tab, $expr, %o) = @_;
    my $pending = $o{pending} // 'pending';
    my $deadline = _now() + $self->_budget($o{timeout} // 10);
    my $val;
    while (1) {
        # a navigation in flight can make Runtime.evaluate fail: retry
        $val = eval { $self->evaluate($tab, $expr,
                                      timeout => _max(2, $deadline - _now())) };
        die $@ if !defined $val && ($self->{broken} || $@ =~ /not running|deadline/);
        last if defined $val && $val ne $pending;
        last if _now() >= $deadline;
        Time::HiRes::sleep(0.1);
    }
    return $val;
}

sub _max { $_[0] > $_[1] ? $_[0] : $_[1] }

# PNG bytes of the tab's viewport (Page.captureScreenshot).
sub screenshot {
    my ($self, $tab, %o) = @_;
    my $r = $self->call('Page.captureScreenshot', { format => 'png' },
                        session => $tab->{session}, timeout => $o{timeout} // 10);
    return MIME::Base64::decode_base64($r->{data} // '');
}

sub close_tab {
    my ($self, $tab) = @_;
    eval { $self->call('Target.closeTarget', { targetId => $tab->{target} },
                       timeout => 3) };
}

# waitpid with a timeout; true once $pid is reaped.
sub _reap {
    my ($pid, $secs) = @_;
    my $deadline = _now() + $secs;
    while (1) {
        my $r = waitpid($pid, POSIX::WNOHANG());
        return 1 if $r == $pid || $r == -1;
        return 0 if _now() >= $deadline;
        Time::HiRes::sleep(0.05);
    }
}

# Live (not zombie) processes other than us whose command line mentions
# our profile dir: all of them were started by this object's Chromium.
sub _strays {
    my $self = shift;
    my $prof = $self->{prof} or return;
    my @pids;
    for my $dir (glob '/proc/[0-9]*') {
        my ($pid) = $dir =~ /(\d+)$/;
        next if $pid == $$;
        open my $fh, '<', "$dir/cmdline" or next;
        my $cmd = do { local $/; <$fh> } // '';
        next unless index($cmd, $prof) >= 0;
        open my $st, '<', "$dir/stat" or next;
        my $stat = <$st> // '';
        next if $stat =~ /\)\s+[ZX]\s/;
        push @pids, $pid;
    }
    return @pids;
}

# Close the browser (Browser.close, then TERM, then KILL to its process
# group), reap it, sweep helpers left in its group, remove the profile.
# Bounded to about 6 s; safe to call more than once.
sub quit {
    my $self = shift;
    return if $self->{owner} != $$;          # a forked child: not ours
    if (my $pid = delete $self->{pid}) {
        delete $live{$pid};
        local $self->{pid} = $pid;
        local $self->{deadline};             # closing ignores the deadline
        local $self->{broken};               # and tries once more anyway
        eval { $self->call('Browser.close', {}, timeout => 2) };
        close $self->{w};
        unless (_reap($pid, 2)) {
            kill 'TERM', -$pid;
            unless (_reap($pid, 2)) {
                kill 'KILL', -$pid;
                _reap($pid, 2);
            }
        }
        # helpers (zygote, renderers) still in the group die with it
        kill 'KILL', -$pid if kill 0, -$pid;
        close $self->{r};
        # chrome_crashpad_handler daemonizes (own session, parent init):
        # find it, and anything else left, by our unique profile path
        my @left = $self->_strays;
        if (@left) {
            kill 'TERM', @left;
            my $deadline = _now() + 1;
            Time::HiRes::sleep(0.05) while ($self->_strays) && _now() < $deadline;
            kill 'KILL', $self->_strays;
        }
    }
    if (my $prof = delete $self->{prof}) {
        File::Path::remove_tree($prof);
    }
}

sub DESTROY { $_[0]->quit }

END {
    local $?;     # keep the test's exit status
    $_->quit for values %live;
}

1;
