//! Running `bash -c CMD` children the way every helper needs.
//!
//! A child normally leads its own process group, so a signal reaches everything the command
//! started (pipelines, subshells), not only the `bash` we spawned (see [`Group`] for the
//! interactive exception). SIGINT, SIGTERM and SIGHUP sent to the helper are not acted on by the
//! helper itself: from the first spawn on they are blocked in every thread and one thread takes
//! them with `sigwait` and forwards them to the children. The helper then sees its children end
//! and exits with their status. (signal-hook is not needed for that: a sigwait thread is all it
//! takes, in a few lines of libc.)

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus};
use std::sync::{Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError};
use std::time::Duration;

use crate::error::{Result, ResultExt};

pub type Pid = libc::pid_t;

const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Where a child goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// A process group of its own.
    Own,
    /// Ours if we are the foreground process group of our terminal (someone runs us by hand),
    /// else its own. In another group than the terminal's foreground one, a command reading or
    /// configuring the terminal (a password prompt, `stty`, a pager) would be stopped by
    /// SIGTTIN/SIGTTOU and hang; in ours it gets the terminal's Ctrl-C directly, as it did under
    /// the original shell helpers.
    Interactive,
}

struct State {
    /// The children not reaped yet, and whether each leads its own group (its pid is the id).
    children: Vec<(Pid, bool)>,
    /// The first forwarded signal the helper received.
    signal: Option<libc::c_int>,
}

static STATE: Mutex<State> = Mutex::new(State {
    children: Vec::new(),
    signal: None,
});
static SIGNALLED: Condvar = Condvar::new();

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes over the forwarded signals. Runs at the first spawn: until then the default actions
/// apply, so a helper signalled before it started anything (e.g. while reading stdin) just dies.
fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let set = forwarded();
        // Threads started later inherit this mask (and so would children: see `spawn`).
        // SAFETY: `set` is a valid sigset_t.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        std::thread::spawn(move || loop {
            let Some((sig, from_terminal)) = next_signal(&set) else {
                continue;
            };
            let mut st = state();
            st.signal.get_or_insert(sig);
            for &(pid, own_group) in &st.children {
                // A child in our group got the terminal's signal along with us.
                if own_group || !from_terminal {
                    let target = if own_group { -pid } else { pid };
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(target, sig) };
                }
            }
            SIGNALLED.notify_all();
        });
    });
}

/// The next forwarded signal, and whether the terminal sent it (Ctrl-C, hang-up) rather than a
/// process (`kill`).
fn next_signal(set: &libc::sigset_t) -> Option<(libc::c_int, bool)> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `set` is valid; `info` is plain old data that sigwaitinfo fills in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = unsafe { libc::sigwaitinfo(set, &mut info) };
        (sig > 0).then_some((sig, info.si_code == libc::SI_KERNEL))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut sig = 0;
        // SAFETY: `set` is valid and `sig` a valid out-pointer.
        (unsafe { libc::sigwait(set, &mut sig) } == 0).then_some((sig, false))
    }
}

/// Whether we are the foreground process group of our controlling terminal.
fn in_foreground() -> bool {
    static FOREGROUND: OnceLock<bool> = OnceLock::new();
    *FOREGROUND.get_or_init(|| {
        use std::os::fd::AsRawFd;
        let Ok(tty) = File::open("/dev/tty") else {
            return false; // no controlling terminal, as in CI
        };
        // SAFETY: tcgetpgrp and getpgrp have no memory-safety preconditions.
        unsafe { libc::tcgetpgrp(tty.as_raw_fd()) == libc::getpgrp() }
    })
}

/// The signals to forward: those of `FORWARDED` the helper was not started ignoring (a script
/// runs background jobs with SIGINT ignored; they, and their children, must stay immune).
fn forwarded() -> libc::sigset_t {
    static SET: OnceLock<libc::sigset_t> = OnceLock::new();
    // SAFETY: plain libc calls on local, zero-initialised structs.
    *SET.get_or_init(|| unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in FORWARDED {
            let mut action: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut action);
            if action.sa_sigaction != libc::SIG_IGN {
                libc::sigaddset(&mut set, sig);
            }
        }
        set
    })
}

/// `bash -c CMD`.
pub fn bash(cmd: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new("bash");
    c.arg("-c").arg(cmd);
    c
}

/// Starts `cmd` in the process group `group` says. `None` when the helper has been signalled:
/// nothing new starts then. Taking `cmd` by value closes our copies of its stdio when it returns.
pub fn spawn(mut cmd: Command, group: Group) -> Result<Option<Pid>> {
    init();
    let own_group = group == Group::Own || !in_foreground();
    if own_group {
        cmd.process_group(0);
    }
    let set = forwarded();
    // A child inherits the signal mask across exec, and std leaves it as it is: unblock the
    // forwarded signals in the child, or `bash -c 'kill $$'` would not even die.
    // SAFETY: pthread_sigmask is async-signal-safe, so it may run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            match libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) {
                0 => Ok(()),
                err => Err(io::Error::from_raw_os_error(err)),
            }
        })
    };
    // Spawned and registered under the lock, so a signal arriving meanwhile still reaches it.
    let mut st = state();
    if st.signal.is_some() {
        return Ok(None);
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let pid = child.id() as Pid;
    st.children.push((pid, own_group));
    Ok(Some(pid))
}

/// For a child that must be forked by hand (the tracer's: it stops before its exec, which
/// `Command::spawn` would wait for): takes the signals over now, before the fork, as [`spawn`]
/// does. The child unblocks them itself.
pub fn take_over() {
    init();
}

/// Counts `pid`, the leader of a process group of its own forked outside [`spawn`], among the
/// children a forwarded signal reaches, until [`release`]. A helper signalled already sends it
/// that signal at once: it must not run on.
pub fn adopt(pid: Pid) {
    let mut st = state();
    if let Some(sig) = st.signal {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(-pid, sig) };
    }
    st.children.push((pid, true));
}

/// Stops counting a child of [`adopt`]: it has ended.
pub fn release(pid: Pid) {
    state().children.retain(|&(child, _)| child != pid);
}

/// Waits for the child `pid`, or for any child with `None`, reaps it and returns its pid and
/// exit code.
pub fn wait(pid: Option<Pid>) -> Result<(Pid, i32)> {
    let (idtype, id) = match pid {
        Some(pid) => (libc::P_PID, pid as libc::id_t),
        None => (libc::P_ALL, 0),
    };
    // SAFETY: siginfo_t is plain old data that waitid fills in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // WNOWAIT leaves the child a zombie until it is out of `children`: its pid (and group id)
    // cannot be reused while a forwarded signal might still be sent to it.
    // SAFETY: `info` is a valid out-pointer.
    while unsafe { libc::waitid(idtype, id, &mut info, libc::WEXITED | libc::WNOWAIT) } != 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err).context("waiting for a child");
        }
    }
    // SAFETY: waitid succeeded with WEXITED, so si_pid is set.
    let pid = unsafe { info.si_pid() };
    state().children.retain(|&(child, _)| child != pid);
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer; the child has exited, so this does not block.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(io::Error::last_os_error()).context("reaping a child");
    }
    Ok((pid, code(ExitStatus::from_raw(status))))
}

/// Runs `cmd` (as [`Group::Interactive`]) to the end: its exit code, or [`signal_code`] if the
/// helper was signalled first.
pub fn run(cmd: Command) -> Result<i32> {
    Ok(match spawn(cmd, Group::Interactive)? {
        Some(pid) => wait(Some(pid))?.1,
        None => signal_code(),
    })
}

/// The exit code as a shell reports it: 128+signal for a child killed by a signal.
pub fn code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|sig| 128 + sig))
        .unwrap_or(1)
}

/// The forwarded signal the helper received, if any.
pub fn interrupted() -> Option<libc::c_int> {
    state().signal
}

/// 128 + the signal the helper received (1 if none): the status to exit with when no child's
/// status can stand for it.
pub fn signal_code() -> i32 {
    interrupted().map_or(1, |sig| 128 + sig)
}

/// Sleeps for `duration` unless the helper is signalled; false when it was.
pub fn sleep(duration: Duration) -> bool {
    let st = state();
    let (st, _) = SIGNALLED
        .wait_timeout_while(st, duration, |st| st.signal.is_none())
        .unwrap_or_else(PoisonError::into_inner);
    st.signal.is_none()
}

/// Sends SIGTERM to every running child that leads its own group (to the whole group), and
/// SIGKILL to those still running after `grace`: a job that ignores SIGTERM must not hang the run.
pub fn terminate_all(grace: Duration) {
    signal_groups(libc::SIGTERM);
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        signal_groups(libc::SIGKILL);
    });
}

fn signal_groups(sig: libc::c_int) {
    for &(pid, own_group) in &state().children {
        if own_group {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(-pid, sig) };
        }
    }
}

/// A pipe: the read end, and the write end to hand to a child. Both are close-on-exec, so only
/// the child's stdio copies stay open in the child.
pub fn pipe() -> io::Result<(File, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe() just returned these two descriptors and nothing else owns them.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in fds {
        // SAFETY: fd is open (owned above).
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((File::from(read), write))
}
