//! Tracing what a command reads, runs, probes and writes: its whole process tree under ptrace.
//!
//! Only file-related system calls stop the tracee (a seccomp filter returns `SECCOMP_RET_TRACE`
//! for them and lets every other call run), so a traced build stays close to its own speed;
//! the stat family, access and readlink stop it only when probes are asked for
//! ([`Command::probes`]). Where the kernel allows (6.6+), the read-only opens and the probes
//! do not stop it at all: a seccomp user notification is answered by a thread of the tracer,
//! on the tracee's CPU while one process at a time calls (`notify`, `wakeups`), and ptrace keeps
//! the process tree, execs, writes and chdirs. Where the tracer may use fanotify
//! (`CAP_SYS_ADMIN`) and probes are not asked for, opens and execs do not stop it either: the
//! kernel queues an event at each close of a file and a tracer thread reads them as they come
//! (`watch`); `reads` chooses.
//! Paths are read from the tracee's memory and resolved against its working directory or the
//! directory descriptor it passed, at the call's entry; the call's result, read at its exit,
//! tells a read from a probe (a failed open of a missing file only looked). ptrace sees static
//! binaries (Go) as well as dynamic ones, which `LD_PRELOAD` would not.

// The tracer proper reads x86_64 registers and system call numbers; elsewhere `run` refuses.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod filter;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod notify;
mod patterns;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod reads;
pub mod report;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod spawn;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod syscalls;
pub mod tasks;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod tracer;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod wakeups;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod watch;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

pub use patterns::cache_trace;
pub use report::{Findings, Outside};
pub use tasks::{TaskFindings, Tasks};

/// What a traced process tree did with one path (several at once: a file can be written, then
/// read back).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Access {
    /// Opened for reading, successfully.
    pub read: bool,
    /// Executed (a successful execve).
    pub exec: bool,
    /// Only looked at: an open or exec that failed, and, when probes are traced
    /// ([`Command::probes`]), a stat, access or readlink.
    pub probe: bool,
    /// Created, opened for writing, renamed to or from, removed, linked.
    pub write: bool,
}

impl Access {
    /// Both accesses at once (a path seen by the ptrace thread and by the notification one).
    pub fn merge(&mut self, other: Access) {
        self.read |= other.read;
        self.exec |= other.exec;
        self.probe |= other.probe;
        self.write |= other.write;
    }
}

/// How the traced command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl Exit {
    /// As a shell reports it: the exit code, or 128+N for signal N.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// Everything a traced run touched.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Absolute, lexically normalised paths.
    pub paths: BTreeMap<PathBuf, Access>,
    pub exit: Exit,
    /// Processes seen (the command and every descendant).
    pub processes: usize,
    /// Whether stat, access and readlink were traced ([`Command::probes`]): without, a probe
    /// is only a failed open or exec, and a file only stat'ed is not in `paths`.
    pub probes: bool,
    /// How the read-only opens were seen: `fanotify`, `notify` or `ptrace` (`CI3_TRACE_READS`).
    /// Through fanotify a failed open is not seen (no probe), and a file opened through a
    /// symlink is recorded as the file it is.
    pub reads: &'static str,
}

/// What to run traced.
pub struct Command {
    pub argv: Vec<OsString>,
    pub cwd: PathBuf,
    /// The whole environment; `None` inherits ours.
    pub env: Option<Vec<(OsString, OsString)>>,
    /// Where the command's stdout and stderr go; `None` inherits ours. stdin is /dev/null.
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Stop on the stat family, access and readlink too, to record the paths only probed
    /// (`[ -f config.local ]`: a dependency on a file's existence). Off by default: they are
    /// most of a git-heavy build's file system calls (git status lstats every tracked file),
    /// and each stop is a round trip through the tracer.
    pub probes: bool,
}

/// What a report of a trace covers, besides the repository's reads and writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// List every file read outside the repository instead of a summary.
    pub all: bool,
    /// Trace probes ([`Command::probes`]) and report the repository paths only probed.
    pub probes: bool,
}

/// Runs `cmd` and its descendants traced to the end of the last of them. Must be called from
/// the thread that will do nothing else meanwhile: ptrace answers only the thread that forked.
/// A tracer that cannot trace here (ptrace not permitted, not x86_64 Linux) fails with a
/// `Config` error saying so in one line.
pub fn run(cmd: Command) -> crate::Result<Trace> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        crate::fail!(
            Config,
            "tracing needs x86_64 Linux (its system call table and registers)"
        );
    }
    // SIGINT/SIGTERM/SIGHUP to the tool reach the traced group (and, through the tracer, every
    // process of it), as they reach any child of a tool; the tool then exits 128+N.
    crate::process::take_over();
    let reads = reads::choose(cmd.probes, &cmd.cwd)?;
    let child = spawn::start(cmd, &reads)?;
    let pid = child.pid;
    crate::process::adopt(pid);
    let trace = tracer::follow(child, reads);
    crate::process::release(pid);
    trace
}

/// `SIGKILL` for 9: the name a message gives a signal.
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// `.` and `..` taken out lexically (a `..` after a symlink is taken as the link's parent).
pub(crate) fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}
