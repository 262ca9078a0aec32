//! Starting the traced command: a plain fork, because the child must stop for the tracer before
//! it installs the seccomp filter and execs, and std's `Command` waits for that exec.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::reads::Reads;
use super::Command;
use crate::Result;

/// A forked child, stopped (or about to stop) at its SIGSTOP before the filter and the exec.
pub(super) struct Started {
    pub pid: libc::pid_t,
    /// Readable once the child has exec'd (EOF) or failed before (stage and errno).
    pub errors: File,
    pub program: OsString,
    /// Whether the filter stops probes too.
    pub probes: bool,
    /// Where the child says which descriptor is its filter's listener (an i32, -1 for none),
    /// before its stop; `None` when the kernel has no synchronous notification.
    pub listener: Option<File>,
}

/// What the child reports before dying when a step fails: which step, and errno.
pub(super) const STAGE_PTRACE: i32 = 1;
pub(super) const STAGE_FILTER: i32 = 2;
pub(super) const STAGE_CHDIR: i32 = 3;
pub(super) const STAGE_EXEC: i32 = 4;

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| crate::err!(Usage, "{s:?} contains a NUL byte"))
}

/// `program` as execvp would find it along `path`; as given when it has a slash.
fn find(program: &OsStr, path: Option<&OsStr>, cwd: &Path) -> Option<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(program));
    }
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path?).find_map(|dir| {
        let candidate = cwd.join(dir).join(program);
        let meta = std::fs::metadata(&candidate).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(candidate)
    })
}

pub(super) fn start(cmd: Command, reads: &Reads) -> Result<Started> {
    let Some(program) = cmd.argv.first() else {
        crate::fail!(Usage, "no command to trace");
    };
    let env: Vec<(OsString, OsString)> = match cmd.env {
        Some(env) => env,
        None => std::env::vars_os().collect(),
    };
    let path_var = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_os_str());
    let Some(exe) = find(program, path_var, &cmd.cwd) else {
        crate::fail!(Failed, "cannot run {program:?}: not found on PATH");
    };
    // Everything the child needs is allocated here: after a fork in a threaded process only
    // async-signal-safe calls are allowed.
    let exe_c = cstring(exe.as_os_str())?;
    let argv: Vec<CString> = cmd.argv.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let envs: Vec<CString> = env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.clone();
            kv.push("=");
            kv.push(v);
            cstring(&kv)
        })
        .collect::<Result<_>>()?;
    let mut env_p: Vec<*const libc::c_char> = envs.iter().map(|e| e.as_ptr()).collect();
    env_p.push(std::ptr::null());
    let cwd = cstring(cmd.cwd.as_os_str())?;
    let devnull = File::open("/dev/null").map_err(crate::Error::from)?;
    let out = cmd.stdout.as_ref().map(|f| f.as_raw_fd());
    let err = cmd.stderr.as_ref().map(|f| f.as_raw_fd());
    // The filter, and the one with a listener tried first when notifying.
    let (prog, notifying) = match reads {
        Reads::Watched(_) => (super::filter::watched()?, None),
        Reads::Notified => (
            super::filter::program(cmd.probes)?,
            Some(super::filter::notifying(cmd.probes)?),
        ),
        Reads::Stopped => (super::filter::program(cmd.probes)?, None),
    };
    let notify_prog = notifying.as_ref().map(|p| libc::sock_fprog {
        len: p.len() as libc::c_ushort,
        filter: p.as_ptr() as *mut libc::sock_filter,
    });
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid out-array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: pipe2 returned two fresh descriptors that we own from here on.
    let (errors, report) = unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let (listener, listener_report) = match notify_prog {
        Some(_) => {
            // SAFETY: as above.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            // SAFETY: as above.
            unsafe {
                (
                    Some(File::from_raw_fd(fds[0])),
                    Some(OwnedFd::from_raw_fd(fds[1])),
                )
            }
        }
        None => (None, None),
    };
    // SAFETY: the child runs only async-signal-safe calls on memory prepared above, then execs
    // or _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if pid == 0 {
        // SAFETY: see above; every pointer outlives the exec.
        unsafe {
            child(
                &exe_c,
                &argv_p,
                &env_p,
                &cwd,
                devnull.as_raw_fd(),
                out,
                err,
                &prog,
                notify_prog
                    .as_ref()
                    .zip(listener_report.as_ref().map(|f| f.as_raw_fd())),
                report.as_raw_fd(),
            )
        }
    }
    // Here as well as in the child: a signal forwarded to the group before the child's own
    // setpgid must find it.
    // SAFETY: setpgid has no memory-safety preconditions.
    unsafe { libc::setpgid(pid, pid) };
    drop(report);
    drop(listener_report);
    Ok(Started {
        pid,
        errors,
        program: program.clone(),
        probes: cmd.probes,
        listener,
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn child(
    exe: &CString,
    argv: &[*const libc::c_char],
    env: &[*const libc::c_char],
    cwd: &CString,
    stdin: libc::c_int,
    out: Option<libc::c_int>,
    err: Option<libc::c_int>,
    prog: &seccompiler::BpfProgram,
    notifying: Option<(&libc::sock_fprog, libc::c_int)>,
    report: libc::c_int,
) -> ! {
    let die = |stage: i32| -> ! {
        let errno = *libc::__errno_location();
        let msg = [stage, errno];
        libc::write(report, msg.as_ptr().cast(), std::mem::size_of_val(&msg));
        libc::_exit(127)
    };
    // A group of its own, so a signal to the task reaches every process it started; signals
    // unblocked and SIGINT/SIGQUIT at their defaults, as from a terminal.
    libc::setpgid(0, 0);
    let mut none: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut none);
    libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    libc::signal(libc::SIGINT, libc::SIG_DFL);
    libc::signal(libc::SIGQUIT, libc::SIG_DFL);
    // std ignores SIGPIPE in Rust programs; a shell pipeline's writer must die of it.
    libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    libc::dup2(stdin, 0);
    if let Some(fd) = out {
        libc::dup2(fd, 1);
    }
    if let Some(fd) = err {
        libc::dup2(fd, 2);
    }
    if libc::chdir(cwd.as_ptr()) != 0 {
        die(STAGE_CHDIR);
    }
    if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
        die(STAGE_PTRACE);
    }
    // The notifying filter goes in before the stop, so that the tracer can take its listener
    // meanwhile: none of the calls up to the stop is traced. Refused (a filter of ours already
    // listening), the plain filter goes in as ever.
    let mut filtered = false;
    if let Some((notify_prog, tell)) = notifying {
        let mut fd: libc::c_int = -1;
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 {
            fd = libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                notify_prog as *const libc::sock_fprog,
            ) as libc::c_int;
        }
        filtered = fd >= 0;
        let fd = if filtered { fd } else { -1 };
        libc::write(tell, (&fd as *const libc::c_int).cast(), 4);
    }
    // The tracer sets its options while we are stopped: a traced call before that would fail.
    libc::raise(libc::SIGSTOP);
    if !filtered && seccompiler::apply_filter(prog).is_err() {
        die(STAGE_FILTER);
    }
    libc::execve(exe.as_ptr(), argv.as_ptr(), env.as_ptr());
    die(STAGE_EXEC)
}

/// The listener descriptor the stopped child reported, if it has one.
pub(super) fn listener_fd(listener: &mut File) -> Option<libc::c_int> {
    let mut buf = [0u8; 4];
    listener.read_exact(&mut buf).ok()?;
    let fd = libc::c_int::from_ne_bytes(buf);
    (fd >= 0).then_some(fd)
}

/// What the child reported before the exec, if it failed: (stage, errno).
pub(super) fn failure(errors: &mut File) -> Option<(i32, i32)> {
    let mut buf = [0u8; 8];
    errors.read_exact(&mut buf).ok()?;
    let stage = i32::from_ne_bytes(buf[..4].try_into().ok()?);
    let errno = i32::from_ne_bytes(buf[4..].try_into().ok()?);
    Some((stage, errno))
}
