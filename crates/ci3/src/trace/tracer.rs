//! The ptrace loop: options set on the stopped child, then every stop of every process of the
//! tree answered until the last one has ended.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;

use nix::sys::ptrace::{self, Options};
use nix::unistd::Pid;

use super::notify::{self, SharedCwds};
use super::reads::Reads;
use super::spawn::{self, Started};
use super::syscalls::{self, Pending};
use super::watch::Watch;
use super::{Access, Exit, Trace};
use crate::Result;

/// `waitpid(-1, ...)` flags: clone children too (threads), and only our own tracees, never a
/// child another thread of this process started (task_run's other workers).
const WAIT_FLAGS: libc::c_int = libc::__WALL | libc::__WNOTHREAD;

pub(super) fn follow(started: Started, reads: Reads) -> Result<Trace> {
    let Started {
        pid: root,
        mut errors,
        program,
        probes,
        mut listener,
    } = started;
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    if unsafe { libc::waitpid(root, &mut status, WAIT_FLAGS) } != root {
        return Err(io::Error::last_os_error().into());
    }
    if !libc::WIFSTOPPED(status) {
        // The child died before its stop: it says why on the pipe.
        return Err(match spawn::failure(&mut errors) {
            Some((spawn::STAGE_PTRACE, errno)) => crate::err!(
                Config,
                "ptrace is not permitted here ({}): cannot trace",
                io::Error::from_raw_os_error(errno)
            ),
            Some((_, errno)) => crate::err!(
                Failed,
                "cannot start {program:?}: {}",
                io::Error::from_raw_os_error(errno)
            ),
            None => crate::err!(Failed, "cannot start {program:?}"),
        });
    }
    let options = Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_EXITKILL;
    ptrace::setoptions(Pid::from_raw(root), options)
        .map_err(|e| crate::err!(Config, "ptrace is not permitted here ({e}): cannot trace"))?;
    let cwds = SharedCwds::default();
    // The stopped child's listener, taken now: without it the child's read-only opens would
    // fail once its own copy closes at the exec.
    let supervisor = match listener.as_mut().and_then(spawn::listener_fd) {
        Some(fd) => match notify::take(root, fd) {
            Ok(taken) => Some(notify::supervise(taken, cwds.clone())),
            Err(e) => {
                // SAFETY: plain calls on our stopped child, which must not run unanswered.
                unsafe {
                    libc::kill(root, libc::SIGKILL);
                    libc::waitpid(root, &mut status, WAIT_FLAGS);
                }
                crate::fail!(
                    Config,
                    "cannot take the seccomp listener of the traced command ({e}): cannot trace"
                );
            }
        },
        None => None,
    };
    // A listener the child could not install (a trace inside a trace) left it all to ptrace.
    let via = match (&reads, &supervisor) {
        (Reads::Notified, None) => Reads::Stopped.name(),
        _ => reads.name(),
    };
    let mut t = Tracer {
        paths: BTreeMap::new(),
        pending: HashMap::new(),
        cwds,
        started: HashSet::from([root]),
        processes: 1,
        exit: None,
        watch: match reads {
            Reads::Watched(w) => Some(w),
            _ => None,
        },
    };
    t.joined(root);
    resume(root, 0, false);
    t.run(root);
    if let Some(watch) = t.watch.take() {
        for (path, access) in watch.finish()? {
            t.paths.entry(path).or_default().merge(access);
        }
    }
    if let Some(supervisor) = supervisor {
        // Ends once the last process of the tree has gone (the filter has no users left).
        for (path, access) in supervisor.join().unwrap_or_default() {
            t.paths.entry(path).or_default().merge(access);
        }
    }
    // A seccomp filter the child could not install, or an exec that failed, is said on the pipe
    // (the exec's ENOENT is already a probe of the trace).
    if let Some((stage, errno)) = spawn::failure(&mut errors) {
        let why = io::Error::from_raw_os_error(errno);
        match stage {
            spawn::STAGE_FILTER => {
                crate::fail!(
                    Config,
                    "cannot install the seccomp filter ({why}): cannot trace"
                )
            }
            _ => crate::fail!(Failed, "cannot run {program:?}: {why}"),
        }
    }
    Ok(Trace {
        paths: t.paths,
        exit: t.exit.unwrap_or(Exit::Code(127)),
        processes: t.processes,
        probes,
        reads: via,
    })
}

struct Tracer {
    paths: BTreeMap<std::path::PathBuf, Access>,
    /// Calls stopped at their entry whose exit we wait for, by thread id.
    pending: HashMap<libc::pid_t, Pending>,
    cwds: SharedCwds,
    /// Threads whose initial SIGSTOP (of the automatic attach) has been swallowed.
    started: HashSet<libc::pid_t>,
    processes: usize,
    exit: Option<Exit>,
    /// Where the read-only opens are seen when fanotify sees them.
    watch: Option<Watch>,
}

/// Restarts `pid` with signal `sig` (0: none); `to_exit` stops it again at the end of the call
/// it is in (its result is needed).
fn resume(pid: libc::pid_t, sig: libc::c_int, to_exit: bool) {
    let request = if to_exit {
        libc::PTRACE_SYSCALL
    } else {
        libc::PTRACE_CONT
    };
    // SAFETY: a plain ptrace request on our tracee; a tracee that died meanwhile gives ESRCH,
    // and its end comes through waitpid.
    unsafe { libc::ptrace(request, pid, 0, sig as libc::c_long) };
}

impl Tracer {
    /// `pid` is of the tree, before it first runs.
    fn joined(&self, pid: libc::pid_t) {
        if let Some(watch) = &self.watch {
            watch.join(pid);
        }
    }

    fn run(&mut self, root: libc::pid_t) {
        loop {
            let mut status = 0;
            // SAFETY: `status` is a valid out-pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, WAIT_FLAGS) };
            if pid < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return; // ECHILD: every tracee has ended
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.pending.remove(&pid);
                notify::lock(&self.cwds).forget(pid);
                if pid == root {
                    self.exit = Some(if libc::WIFEXITED(status) {
                        Exit::Code(libc::WEXITSTATUS(status))
                    } else {
                        Exit::Signal(libc::WTERMSIG(status))
                    });
                }
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            let sig = libc::WSTOPSIG(status);
            let event = status >> 16;
            if sig == libc::SIGTRAP | 0x80 {
                self.exited_call(pid);
                resume(pid, 0, false);
            } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
                let needs_result = self.entered_call(pid);
                resume(pid, 0, needs_result);
            } else if sig == libc::SIGTRAP && event != 0 {
                if matches!(
                    event,
                    libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE
                ) {
                    self.processes += usize::from(event != libc::PTRACE_EVENT_CLONE);
                }
                if event == libc::PTRACE_EVENT_EXEC {
                    // A thread other than the leader that execs takes the leader's id.
                    if let Ok(former) = ptrace::getevent(Pid::from_raw(pid)) {
                        let former = former as libc::pid_t;
                        if former != pid {
                            notify::lock(&self.cwds).forget(former);
                            if let Some(p) = self.pending.remove(&former) {
                                self.pending.insert(pid, p);
                            }
                        }
                    }
                }
                resume(pid, 0, self.pending.contains_key(&pid));
            } else if sig == libc::SIGSTOP && self.started.insert(pid) {
                // The stop every new tracee starts with: not the program's own signal.
                self.joined(pid);
                resume(pid, 0, false);
            } else {
                // Job-control stops would leave a traced build stopped for good: a build has no
                // terminal to be continued from.
                let deliver = match sig {
                    libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => 0,
                    s => s,
                };
                resume(pid, deliver, self.pending.contains_key(&pid));
            }
        }
    }

    /// Decodes the call `pid` stopped at; whether its result is needed (see
    /// [`syscalls::at_entry`]). Each stop saved is two context switches: a compiler's include
    /// search and `git status` are mostly such calls.
    fn entered_call(&mut self, pid: libc::pid_t) -> bool {
        let Ok(regs) = ptrace::getregs(Pid::from_raw(pid)) else {
            return false;
        };
        let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
        let decoded = syscalls::decode(
            Pid::from_raw(pid),
            regs.orig_rax as i64,
            args,
            &mut notify::lock(&self.cwds),
        );
        if decoded.chdir {
            // Cleared again at its exit: another thread may look meanwhile.
            notify::lock(&self.cwds).clear();
            self.pending.insert(pid, decoded);
            return true;
        }
        let mut pending = Pending::default();
        for (path, intent) in decoded.uses {
            match syscalls::at_entry(intent, &path) {
                Some(result) => {
                    syscalls::settle(intent, result, self.paths.entry(path).or_default())
                }
                None => pending.uses.push((path, intent)),
            }
        }
        if pending.uses.is_empty() {
            return false;
        }
        self.pending.insert(pid, pending);
        true
    }

    fn exited_call(&mut self, pid: libc::pid_t) {
        let Some(pending) = self.pending.remove(&pid) else {
            return;
        };
        if pending.chdir {
            notify::lock(&self.cwds).clear();
            return;
        }
        let Ok(regs) = ptrace::getregs(Pid::from_raw(pid)) else {
            return;
        };
        for (path, intent) in pending.uses {
            syscalls::settle(intent, regs.rax as i64, self.paths.entry(path).or_default());
        }
    }
}
