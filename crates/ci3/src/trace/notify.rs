//! Seccomp user notification: read-only opens answered by a tracer thread, without a stop.
//!
//! On a virtual machine a ptrace stop costs two cross-CPU wake-ups of halted vCPUs (the
//! tracer's at the stop, the tracee's at the resume), ~85 us a stop where the work is ~5 us. A
//! listener with `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6) hands the CPU over to the
//! supervisor thread and back instead, while one process at a time calls (`wakeups`); one
//! supervisor thread per CPU answers processes side by side. ptrace still follows the process
//! tree, execs, writes and chdirs.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use nix::unistd::Pid;

use super::syscalls::{self, Cwds};
use super::wakeups::WakeMode;
use super::Access;

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (linux/seccomp.h; not in the libc crate).
const SYNC_WAKE_UP: u64 = 1;

/// The working directories, shared by the ptrace thread (which sees the chdirs and the ends of
/// threads) and the supervisor (which resolves the relative paths of its calls).
pub(super) type SharedCwds = Arc<Mutex<Cwds>>;

pub(super) fn lock(cwds: &SharedCwds) -> std::sync::MutexGuard<'_, Cwds> {
    // A panic of the other thread leaves the cache as valid as before it.
    cwds.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a filter may have a listener with synchronous wake-ups here: tried once, on a thread
/// of its own, because a filter cannot be taken off again. Refused by kernels before 6.6, and
/// when a filter of ours already has a listener (a trace inside a trace).
pub(super) fn supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| std::thread::spawn(try_listener).join().unwrap_or(false))
}

fn try_listener() -> bool {
    let mut allow = [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: libc::SECCOMP_RET_ALLOW,
    }];
    let prog = libc::sock_fprog {
        len: 1,
        filter: allow.as_mut_ptr(),
    };
    // SAFETY: `prog` points at a valid one-instruction program; the filter and no_new_privs
    // bind only this thread, which ends here.
    let fd = unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return false;
        }
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog,
        )
    };
    if fd < 0 {
        return false;
    }
    // SAFETY: seccomp returned a fresh descriptor that we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    set_sync(&fd).is_ok()
}

fn set_sync(fd: &OwnedFd) -> io::Result<()> {
    set_flags(fd.as_raw_fd(), SYNC_WAKE_UP)
}

fn set_flags(fd: RawFd, flags: u64) -> io::Result<()> {
    // SAFETY: SET_FLAGS takes its flags by value.
    if unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The listener descriptor `fd` of the stopped child `pid`, copied into this process.
pub(super) fn take(pid: libc::pid_t, fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: plain system calls; each descriptor returned is fresh and owned here.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(io::Error::last_os_error());
    }
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    let got = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    let listener = unsafe { OwnedFd::from_raw_fd(got as RawFd) };
    set_sync(&listener)?;
    Ok(listener)
}

/// The supervisor: one thread per CPU answering notifications until no process uses the filter
/// any more; what the calls did, from all of them.
pub(super) fn supervise(
    listener: OwnedFd,
    cwds: SharedCwds,
) -> JoinHandle<BTreeMap<PathBuf, Access>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let listener = Arc::new(listener);
    let waking = Arc::new(Waking {
        state: Mutex::new((WakeMode::new(), false)),
        turn: Condvar::new(),
        waiting: AtomicUsize::new(0),
    });
    let answering: Vec<_> = (0..threads)
        .map(|i| {
            let (listener, cwds, waking) = (listener.clone(), cwds.clone(), waking.clone());
            std::thread::spawn(move || {
                let paths = answer_all(listener.as_raw_fd(), &cwds, &waking, i > 0);
                if i == 0 {
                    waking.lock().1 = true;
                    waking.turn.notify_all();
                }
                paths
            })
        })
        .collect();
    std::thread::spawn(move || {
        let mut paths: BTreeMap<PathBuf, Access> = BTreeMap::new();
        for thread in answering {
            for (path, access) in thread.join().unwrap_or_default() {
                paths.entry(path).or_default().merge(access);
            }
        }
        paths
    })
}

/// The supervisor threads' wake-up mode and whether the tree has gone; the turn of the threads
/// besides the first, which wait while one process at a time calls (a second waiting thread
/// made each synchronous call 10% dearer); how many calls are being answered.
struct Waking {
    state: Mutex<(WakeMode, bool)>,
    turn: Condvar,
    waiting: AtomicUsize,
}

impl Waking {
    fn lock(&self) -> std::sync::MutexGuard<'_, (WakeMode, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits while wake-ups are synchronous; whether the tree has gone.
    fn wait_for_parallel(&self) -> bool {
        let mut state = self.lock();
        while state.0.sync() && !state.1 {
            state = self.turn.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.1
    }
}

/// One supervisor thread's loop; an `extra` one answers only while processes call side by side.
fn answer_all(
    fd: RawFd,
    cwds: &SharedCwds,
    waking: &Waking,
    extra: bool,
) -> BTreeMap<PathBuf, Access> {
    let mut paths = BTreeMap::new();
    let mut opened = HashSet::new();
    loop {
        if extra && waking.wait_for_parallel() {
            break;
        }
        // SAFETY: seccomp_notif is plain data; RECV fills it.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: `req` is a valid out-pointer of the size RECV writes.
        if unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } != 0 {
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                // The filter has no users left (the tree is gone: RECV wakes for it since
                // Linux 6.6, as SYNC_WAKE_UP needs), or a waiting task was killed.
                Some(libc::ENOENT) if !hung_up(fd) => continue,
                _ => break,
            }
        }
        let waiting = waking.waiting.fetch_add(1, Ordering::SeqCst) + 1;
        let change = waking
            .lock()
            .0
            .call(req.pid as i32, waiting, Instant::now());
        if let Some(sync) = change {
            // A refusal leaves the wake-ups as they were: slower, never wrong.
            let _ = set_flags(fd, if sync { SYNC_WAKE_UP } else { 0 });
            if !sync {
                waking.turn.notify_all();
            }
        }
        record(fd, &req, cwds, &mut paths, &mut opened);
        // Before the answer: the caller's next call, at once on this CPU, is not an overlap.
        waking.waiting.fetch_sub(1, Ordering::SeqCst);
        let_run(fd, req.id);
    }
    // Read or only looked for: whether the file exists, once per path, after the calls.
    let read_only = syscalls::Intent::Open { flags: 0 };
    for path in opened {
        let found = if path.exists() { 0 } else { -1 };
        syscalls::settle(read_only, found, paths.entry(path).or_default());
    }
    paths
}

/// Whether no process uses the filter of `fd` any more.
fn hung_up(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a timeout of 0 only looks.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n != 0 && pfd.revents & libc::POLLIN == 0
}

/// Records the call of `req` as the ptrace path records it at a call's entry, but for a
/// read-only open, whose path goes to `opened`: whether its file exists (a read, or only a
/// probe of a missing file) is looked up once at the end instead of in every call (a compiler
/// opens the same headers in every file it compiles, and the look was a sixth of a call's
/// time). A file the tree removes or creates is a write whenever it is looked up.
fn record(
    fd: RawFd,
    req: &libc::seccomp_notif,
    cwds: &SharedCwds,
    paths: &mut BTreeMap<PathBuf, Access>,
    opened: &mut HashSet<PathBuf>,
) {
    let decoded = syscalls::decode(
        Pid::from_raw(req.pid as libc::pid_t),
        i64::from(req.data.nr),
        req.data.args,
        &mut lock(cwds),
    );
    // What was read is the caller's only if its call is still waiting (seccomp_unotify(2)): a
    // task killed meanwhile may have given its id to another process.
    // SAFETY: ID_VALID reads one u64.
    let valid = unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) } == 0;
    if valid {
        for (path, intent) in decoded.uses {
            match intent {
                syscalls::Intent::Open { flags } if !syscalls::writes(flags) => {
                    opened.insert(path);
                }
                _ => {
                    if let Some(result) = syscalls::at_entry(intent, &path) {
                        syscalls::settle(intent, result, paths.entry(path).or_default());
                    }
                }
            }
        }
    }
}

/// Lets the call of notification `id` run.
fn let_run(fd: RawFd, id: u64) {
    let resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: 0,
        flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    };
    // SAFETY: `resp` is a valid seccomp_notif_resp; a task gone meanwhile gives ENOENT.
    unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::sync::mpsc;

    use super::*;

    /// Runs `calls` on a thread of its own under the notifying filter, answered by
    /// [`supervise`] until the thread has ended; what the supervisor recorded, and each call's
    /// errno.
    fn notified(
        probes: bool,
        calls: impl FnOnce() -> Vec<i32> + Send + 'static,
    ) -> (BTreeMap<PathBuf, Access>, Vec<i32>) {
        let prog = crate::trace::filter::notifying(probes).unwrap();
        let (give, listener) = mpsc::channel();
        let (go, wait) = mpsc::channel::<()>();
        let caller = std::thread::spawn(move || {
            let fprog = libc::sock_fprog {
                len: prog.len() as libc::c_ushort,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: a valid program; the filter binds only this thread, which ends here.
            let fd = unsafe {
                assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                    &fprog,
                )
            };
            assert!(fd >= 0, "{}", io::Error::last_os_error());
            // SAFETY: a fresh descriptor, handed over to the supervisor.
            give.send(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
                .unwrap();
            wait.recv().unwrap();
            calls()
        });
        let supervisor = supervise(listener.recv().unwrap(), SharedCwds::default());
        go.send(()).unwrap();
        let errnos = caller.join().unwrap();
        (supervisor.join().unwrap(), errnos)
    }

    fn openat(dirfd: RawFd, path: &str, flags: i32) -> i32 {
        let c = CString::new(path).unwrap();
        // SAFETY: a valid C string; a descriptor opened is closed at once.
        let fd = unsafe { libc::openat(dirfd, c.as_ptr(), flags, 0o644) };
        if fd < 0 {
            return io::Error::last_os_error().raw_os_error().unwrap();
        }
        unsafe { libc::close(fd) };
        0
    }

    fn stat(path: &str) -> i32 {
        let c = CString::new(path).unwrap();
        // SAFETY: valid pointers.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::stat(c.as_ptr(), &mut st) } < 0 {
            return io::Error::last_os_error().raw_os_error().unwrap();
        }
        0
    }

    #[test]
    fn read_opens_go_to_the_listener_and_writes_to_the_tracer() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        std::fs::write(d.join("here.txt"), "x").unwrap();
        let p = |name: &str| d.join(name).to_str().unwrap().to_string();
        let (here, missing, written) = (p("here.txt"), p("missing.txt"), p("new.txt"));
        let sub = std::fs::File::open(&d).unwrap();
        let (paths, errnos) = notified(false, move || {
            vec![
                openat(libc::AT_FDCWD, &here, libc::O_RDONLY),
                openat(libc::AT_FDCWD, &missing, libc::O_RDONLY | libc::O_CLOEXEC),
                // Relative to a directory descriptor.
                openat(sub.as_raw_fd(), "rel-missing.txt", libc::O_RDONLY),
                // A write stops for the tracer, absent here: the call fails with ENOSYS.
                openat(libc::AT_FDCWD, &written, libc::O_WRONLY | libc::O_CREAT),
                // A directory listed runs untraced.
                openat(libc::AT_FDCWD, "/", libc::O_RDONLY | libc::O_DIRECTORY),
                // Probes are not notified without --probes.
                stat(&here),
            ]
        });
        assert_eq!(errnos, [0, libc::ENOENT, libc::ENOENT, libc::ENOSYS, 0, 0]);
        let read = Access {
            read: true,
            ..Access::default()
        };
        let probe = Access {
            probe: true,
            ..Access::default()
        };
        let want = BTreeMap::from([
            (d.join("here.txt"), read),
            (d.join("missing.txt"), probe),
            (d.join("rel-missing.txt"), probe),
        ]);
        assert_eq!(paths, want);
        assert!(!d.join("new.txt").exists());
    }

    #[test]
    fn probes_go_to_the_listener_with_probes() {
        let (paths, errnos) = notified(true, || vec![stat("/"), stat("/ci3-missing")]);
        assert_eq!(errnos, [0, libc::ENOENT]);
        let probe = Access {
            probe: true,
            ..Access::default()
        };
        let want = BTreeMap::from([
            (PathBuf::from("/"), probe),
            (PathBuf::from("/ci3-missing"), probe),
        ]);
        assert_eq!(paths, want);
    }

    /// Two callers side by side: the extra threads join in (their calls alternate) and every
    /// call is recorded once, whichever thread answered it.
    #[test]
    fn calls_side_by_side_are_all_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap().to_string();
        let names: Vec<String> = (0..2)
            .flat_map(|t| (0..300).map(move |i| format!("t{t}-{i}.h")))
            .collect();
        let wanted = names.clone();
        let (paths, errnos) = notified(false, move || {
            let callers: Vec<_> = (0..2)
                .map(|t| {
                    let (base, names) = (base.clone(), wanted.clone());
                    std::thread::spawn(move || {
                        names
                            .iter()
                            .filter(|n| n.starts_with(&format!("t{t}-")))
                            .map(|n| openat(libc::AT_FDCWD, &format!("{base}/{n}"), 0))
                            .collect::<Vec<i32>>()
                    })
                })
                .collect();
            callers
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect()
        });
        assert!(errnos.iter().all(|&e| e == libc::ENOENT), "{errnos:?}");
        // The callers' own opens (a thread's start may read /sys) are not the test's.
        let recorded: Vec<PathBuf> = paths
            .keys()
            .filter(|p| p.starts_with(dir.path()))
            .cloned()
            .collect();
        let mut want: Vec<PathBuf> = names.iter().map(|n| dir.path().join(n)).collect();
        want.sort();
        assert_eq!(recorded, want);
    }
}
