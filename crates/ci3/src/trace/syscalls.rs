//! Decoding a stopped file system call (x86_64 registers): which paths, relative to what, and
//! what the call does to them; then, from its result, what it did.

use std::collections::hash_map::{Entry, HashMap};
use std::ffi::OsStr;
use std::io::IoSliceMut;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::normalise;

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

use super::Access;

/// What a call intends for one path.
#[derive(Debug, Clone, Copy)]
pub(super) enum Intent {
    Open { flags: i64 },
    Exec,
    Probe,
    Write,
}

/// A call seen at its entry, waiting for its result.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub uses: Vec<(PathBuf, Intent)>,
    /// A chdir or fchdir: the working directories kept are stale once it has run.
    pub chdir: bool,
}

/// The working directory of each traced thread, read from /proc at its first relative path and
/// kept until a chdir (of any thread: threads share it) or the thread's end. Reading
/// `/proc/PID/cwd` for every relative path cost three system calls a stop.
#[derive(Default)]
pub(super) struct Cwds(HashMap<libc::pid_t, PathBuf>);

impl Cwds {
    fn get(&mut self, pid: Pid) -> Option<&Path> {
        match self.0.entry(pid.as_raw()) {
            Entry::Occupied(e) => Some(e.into_mut()),
            Entry::Vacant(v) => {
                Some(v.insert(std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?))
            }
        }
    }

    pub fn clear(&mut self) {
        self.0.clear()
    }

    pub fn forget(&mut self, pid: libc::pid_t) {
        self.0.remove(&pid);
    }
}

const AT_FDCWD: i64 = libc::AT_FDCWD as i64;

/// The paths of call `nr` with arguments `a`, resolved in process `pid`; `None` for a call that
/// names no path we can read.
pub(super) fn decode(pid: Pid, nr: i64, a: [u64; 6], cwds: &mut Cwds) -> Pending {
    let mut path = |dirfd: i64, addr: u64| resolve(pid, dirfd, addr, cwds);
    let mut uses = Vec::new();
    let mut add = |p: Option<PathBuf>, intent| {
        if let Some(p) = p {
            uses.push((p, intent));
        }
    };
    let at = |x: u64| x as i32 as i64;
    match nr {
        libc::SYS_open => add(path(AT_FDCWD, a[0]), Intent::Open { flags: a[1] as i64 }),
        libc::SYS_creat => add(path(AT_FDCWD, a[0]), Intent::Write),
        libc::SYS_openat => add(path(at(a[0]), a[1]), Intent::Open { flags: a[2] as i64 }),
        libc::SYS_openat2 => {
            // struct open_how starts with its u64 flags.
            let flags = read_u64(pid, a[2]).unwrap_or(0) as i64;
            add(path(at(a[0]), a[1]), Intent::Open { flags })
        }
        libc::SYS_execve => add(path(AT_FDCWD, a[0]), Intent::Exec),
        libc::SYS_execveat => add(path(at(a[0]), a[1]), Intent::Exec),
        libc::SYS_stat | libc::SYS_lstat | libc::SYS_readlink | libc::SYS_access => {
            add(path(AT_FDCWD, a[0]), Intent::Probe)
        }
        libc::SYS_newfstatat
        | libc::SYS_statx
        | libc::SYS_readlinkat
        | libc::SYS_faccessat
        | libc::SYS_faccessat2 => add(path(at(a[0]), a[1]), Intent::Probe),
        libc::SYS_rename | libc::SYS_link | libc::SYS_symlink => {
            if nr != libc::SYS_symlink {
                add(path(AT_FDCWD, a[0]), Intent::Write);
            }
            add(path(AT_FDCWD, a[1]), Intent::Write)
        }
        libc::SYS_renameat | libc::SYS_renameat2 => {
            add(path(at(a[0]), a[1]), Intent::Write);
            add(path(at(a[2]), a[3]), Intent::Write)
        }
        libc::SYS_linkat => add(path(at(a[2]), a[3]), Intent::Write),
        libc::SYS_symlinkat => add(path(at(a[1]), a[2]), Intent::Write),
        libc::SYS_unlink | libc::SYS_rmdir | libc::SYS_mkdir | libc::SYS_truncate => {
            add(path(AT_FDCWD, a[0]), Intent::Write)
        }
        libc::SYS_unlinkat | libc::SYS_mkdirat => add(path(at(a[0]), a[1]), Intent::Write),
        _ => {}
    }
    Pending {
        uses,
        chdir: matches!(nr, libc::SYS_chdir | libc::SYS_fchdir),
    }
}

/// Folds a finished call into the access of its path: `result` is the call's return value.
pub(super) fn settle(intent: Intent, result: i64, access: &mut Access) {
    let ok = result >= 0;
    match intent {
        Intent::Open { flags } => {
            let mode = flags & libc::O_ACCMODE as i64;
            let writes = writes(flags);
            if !ok {
                // A failed read open looked for the file; a failed write did nothing.
                access.probe |= !writes;
                return;
            }
            access.write |= writes;
            access.read |= mode != libc::O_WRONLY as i64;
        }
        Intent::Exec => {
            if ok {
                access.exec = true
            } else {
                access.probe = true
            }
        }
        Intent::Probe => access.probe = true,
        Intent::Write => access.write |= ok,
    }
}

/// The result a call is settled with at its entry, `None` when its exit is needed. Only writes
/// wait for their result: a read-only open or an exec is told from a probe by whether its file
/// exists now, at its entry, and a probe is one whatever it returns. (A file that appears or
/// goes between this check and the call, or that exists but may not be read, is classed by the
/// check.)
pub(super) fn at_entry(intent: Intent, path: &Path) -> Option<i64> {
    let found = match intent {
        Intent::Probe => true,
        Intent::Open { flags } if !writes(flags) => path.exists(),
        Intent::Exec => path.is_file(),
        _ => return None,
    };
    Some(if found { 0 } else { -1 })
}

/// Whether an open with `flags` may change the file.
pub(super) fn writes(flags: i64) -> bool {
    flags & libc::O_ACCMODE as i64 != libc::O_RDONLY as i64
        || flags & (libc::O_CREAT | libc::O_TRUNC) as i64 != 0
}

/// A path argument read from the tracee and made absolute against its cwd or `dirfd`.
fn resolve(pid: Pid, dirfd: i64, addr: u64, cwds: &mut Cwds) -> Option<PathBuf> {
    let raw = read_str(pid, addr)?;
    let p = Path::new(OsStr::from_bytes(&raw));
    if p.is_absolute() {
        return Some(normalise(p));
    }
    let fd_dir;
    let base = if dirfd == AT_FDCWD {
        cwds.get(pid)?
    } else {
        fd_dir = std::fs::read_link(format!("/proc/{pid}/fd/{dirfd}")).ok()?;
        &fd_dir
    };
    // AT_EMPTY_PATH: the descriptor itself.
    Some(if raw.is_empty() {
        normalise(base)
    } else {
        normalise(&base.join(p))
    })
}

fn read_u64(pid: Pid, addr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len: 8,
    }];
    let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buf)], &remote).ok()?;
    (got == 8).then(|| u64::from_ne_bytes(buf))
}

/// A NUL-terminated string of the tracee, read a page at a time so that a string near the end
/// of its mapping is read without touching the next page.
fn read_str(pid: Pid, addr: u64) -> Option<Vec<u8>> {
    const PAGE: usize = 4096;
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut at = addr as usize;
    let mut buf = [0u8; PAGE];
    while out.len() <= libc::PATH_MAX as usize {
        let n = PAGE - at % PAGE;
        let remote = [RemoteIoVec { base: at, len: n }];
        let got = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buf[..n])], &remote).ok()?;
        if got == 0 {
            return None;
        }
        if let Some(end) = buf[..got].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..end]);
            return Some(out);
        }
        out.extend_from_slice(&buf[..got]);
        at += got;
    }
    None
}
