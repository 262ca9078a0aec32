//! Running `bash -c CMD` children the way every helper needs.
//!
//! Each child leads its own process group, so a signal reaches everything the command started
//! (pipelines, subshells), not only the `bash` we spawned. SIGINT, SIGTERM and SIGHUP sent to the
//! helper are not acted on by the helper itself: from the first spawn on they are blocked in every
//! thread and one thread takes them with `sigwait` and forwards them to the children's groups.
//! The helper then sees its children end and exits with their status. (signal-hook is not needed
//! for that: sigwait in a thread is all it takes, in a few lines of libc.)

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus};
use std::sync::{Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};

pub type Pid = libc::pid_t;

const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

struct State {
    /// The process groups of the children not reaped yet (each child's pid is its group id).
    groups: Vec<Pid>,
    /// The first forwarded signal the helper received.
    signal: Option<libc::c_int>,
}

static STATE: Mutex<State> = Mutex::new(State {
    groups: Vec::new(),
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
            let mut sig = 0;
            // SAFETY: `set` is a valid sigset_t and `sig` a valid out-pointer.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                continue;
            }
            let mut st = state();
            st.signal.get_or_insert(sig);
            for &group in &st.groups {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(-group, sig) };
            }
            SIGNALLED.notify_all();
        });
    });
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

/// Starts `cmd` as the leader of a new process group. `None` when the helper has been signalled:
/// nothing new starts then. Taking `cmd` by value closes our copies of its stdio when it returns.
pub fn spawn(mut cmd: Command) -> Result<Option<Pid>> {
    init();
    cmd.process_group(0);
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
    let child = cmd.spawn().context("cannot start bash")?;
    let pid = child.id() as Pid;
    st.groups.push(pid);
    Ok(Some(pid))
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
    // WNOWAIT leaves the child a zombie until it is out of `groups`: its pid, which is also its
    // group id, cannot be reused while a forwarded signal might still be sent to it.
    // SAFETY: `info` is a valid out-pointer.
    while unsafe { libc::waitid(idtype, id, &mut info, libc::WEXITED | libc::WNOWAIT) } != 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err).context("waiting for a child");
        }
    }
    // SAFETY: waitid succeeded with WEXITED, so si_pid is set.
    let pid = unsafe { info.si_pid() };
    state().groups.retain(|&g| g != pid);
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer; the child has exited, so this does not block.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(io::Error::last_os_error()).context("reaping a child");
    }
    Ok((pid, code(ExitStatus::from_raw(status))))
}

/// Runs `cmd` to the end: its exit code, or [`signal_code`] if the helper was signalled first.
pub fn run(cmd: Command) -> Result<i32> {
    Ok(match spawn(cmd)? {
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

/// Sends SIGTERM to the group of every running child, and SIGKILL to those still running
/// after `grace` (a job that ignores SIGTERM must not hang the run).
pub fn terminate_all(grace: Duration) {
    signal_all(libc::SIGTERM);
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        signal_all(libc::SIGKILL);
    });
}

fn signal_all(sig: libc::c_int) {
    for &group in &state().groups {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(-group, sig) };
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
