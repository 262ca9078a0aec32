//! Opens seen through fanotify: the kernel queues an event at each close of a file, saying
//! whether it was open for writing, and a thread of the tracer reads the queue while the tree
//! runs.
//!
//! Nothing stops or waits for the tracer: where a notification costs two cross-CPU wake-ups
//! per open (a C build's header search is tens of thousands), an event costs the closing
//! process an allocation. It needs `CAP_SYS_ADMIN` (fanotify_init, and the process ids of the
//! events), so it serves root CI machines and privileged containers; elsewhere the tracer
//! notifies (`notify`). What it cannot see: an open that failed (a probe, traced with
//! `--probes` only, which never use this), and the name a file was opened by when it is a
//! symlink (the event names the file itself, which is what was read). Renames, removals and
//! the other writes that are no open stay on ptrace.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::fcntl::AT_FDCWD;
use nix::sys::fanotify::{EventFFlags, Fanotify, InitFlags, MarkFlags, MaskFlags};

use super::Access;

/// File systems that hold no files a build reads as inputs; marking their mounts would only
/// add events to filter out.
const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "nsfs",
    "efivarfs",
    "rpc_pipefs",
];

/// The processes of the traced tree, by id: events of other processes are dropped. A process
/// joins before it first runs, so none of its events can be read before; an event of another
/// process that had the same id would have to be read after the id was freed and given to the
/// tree (the kernel gives ids out in a cycle, so only at a wrap-around of `pid_max` right at
/// it, within the few milliseconds the reader lags).
pub(super) type Members = Arc<Mutex<HashSet<libc::pid_t>>>;

/// A running watch: its reader thread, and how to tell it the tree has ended (dropped
/// unfinished, the reader drains the queue and ends on its own).
pub(super) struct Watch {
    members: Members,
    stop: OwnedFd,
    reader: Option<JoinHandle<crate::Result<BTreeMap<PathBuf, Access>>>>,
}

/// Starts watching every mounted file system but the pseudo ones, before the tree starts; an
/// error (no `CAP_SYS_ADMIN`: `EPERM`) says why it cannot. The file system of `cwd` (the
/// repository) must be watched; another that refuses is left out, as is one mounted after the
/// start.
pub(super) fn start(cwd: &Path) -> std::io::Result<Watch> {
    let group = Fanotify::init(
        InitFlags::FAN_CLASS_NOTIF
            | InitFlags::FAN_CLOEXEC
            | InitFlags::FAN_NONBLOCK
            | InitFlags::FAN_UNLIMITED_QUEUE,
        // O_NONBLOCK: the descriptor of a FIFO's event must not wait for a writer; O_NOATIME:
        // the tracer's own look changes nothing.
        EventFFlags::O_RDONLY
            | EventFFlags::O_LARGEFILE
            | EventFFlags::O_CLOEXEC
            | EventFFlags::O_NONBLOCK
            | EventFFlags::O_NOATIME,
    )?;
    for mount in mounts()? {
        // A mount point hidden under another mount, or gone meanwhile, or a file system that
        // fanotify does not serve: no event of it.
        let _ = mark(&group, &mount);
    }
    mark(&group, cwd)?;
    // SAFETY: eventfd returns a fresh descriptor that we own.
    let stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if stop < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let stop = unsafe { OwnedFd::from_raw_fd(stop) };
    let members = Members::default();
    let (m, s) = (members.clone(), stop.try_clone()?);
    let reader = std::thread::spawn(move || read_all(&group, &m, &s));
    Ok(Watch {
        members,
        stop,
        reader: Some(reader),
    })
}

impl Watch {
    /// `pid` belongs to the tree: called before it runs, so that none of its events is read
    /// before.
    pub fn join(&self, pid: libc::pid_t) {
        self.members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid);
    }

    /// The files the tree opened, read or written. Called once every process of the tree has ended:
    /// each close was queued before its process could be waited for, so the queue holds them
    /// all. Fails if the kernel dropped events (it cannot with an unlimited queue, but says so).
    pub fn finish(mut self) -> crate::Result<BTreeMap<PathBuf, Access>> {
        self.signal_stop();
        match self.reader.take().map(JoinHandle::join) {
            Some(Ok(found)) => found,
            _ => crate::fail!(Failed, "the fanotify watch of the trace panicked"),
        }
    }

    fn signal_stop(&self) {
        let one: u64 = 1;
        // SAFETY: an eventfd takes one u64 by pointer.
        unsafe { libc::write(self.stop.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// Watches the file system of `path` for closes: the whole file system, so that a bind mount of
/// it, or a process of the tree in a mount namespace of its own (a sandboxed step), is seen too;
/// where that is refused (a btrfs subvolume: `EXDEV`), the mount.
fn mark(group: &Fanotify, path: &Path) -> nix::Result<()> {
    let closes = MaskFlags::FAN_CLOSE_NOWRITE | MaskFlags::FAN_CLOSE_WRITE;
    let at = |how| group.mark(MarkFlags::FAN_MARK_ADD | how, closes, AT_FDCWD, Some(path));
    at(MarkFlags::FAN_MARK_FILESYSTEM).or_else(|_| at(MarkFlags::FAN_MARK_MOUNT))
}

/// The mount points of the file systems worth watching, from /proc/self/mountinfo (bytes: a
/// mount point need not be UTF-8).
fn mounts() -> std::io::Result<Vec<PathBuf>> {
    let info = std::fs::read("/proc/self/mountinfo")?;
    Ok(info
        .split(|&b| b == b'\n')
        .filter_map(mount_point)
        .collect())
}

/// The mount point of one mountinfo line, unless its file system is a pseudo one: fields are
/// id, parent, device, root, mount point, options, optional fields up to `-`, type, source.
fn mount_point(line: &[u8]) -> Option<PathBuf> {
    let mut fields = line.split(|&b| b == b' ');
    let point = fields.nth(4)?;
    let fstype = fields.skip_while(|f| *f != b"-").nth(1)?;
    if PSEUDO.iter().any(|p| p.as_bytes() == fstype) {
        return None;
    }
    Some(PathBuf::from(OsString::from_vec(unescape(point))))
}

/// mountinfo writes space, tab, newline and backslash in octal (`\040`).
fn unescape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The reader: events read as they come until `stop` is written, then the rest of the queue.
fn read_all(
    group: &Fanotify,
    members: &Members,
    stop: &OwnedFd,
) -> crate::Result<BTreeMap<PathBuf, Access>> {
    let mut seen: HashMap<PathBuf, Access> = HashMap::new();
    let mut stopping = false;
    loop {
        if !stopping {
            let mut fds = [
                libc::pollfd {
                    fd: group.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: stop.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfds.
            if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
                if Errno::last() == Errno::EINTR {
                    continue;
                }
                crate::fail!(
                    Failed,
                    "the trace's fanotify watch: poll: {}",
                    Errno::last()
                );
            }
            stopping = fds[1].revents != 0;
        }
        let events = match group.read_events() {
            Ok(events) => events,
            Err(Errno::EAGAIN) if stopping => break,
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(e) => crate::fail!(Failed, "the trace's fanotify watch: reading events: {e}"),
        };
        let members = members.lock().unwrap_or_else(|e| e.into_inner());
        for event in &events {
            if event.mask().contains(MaskFlags::FAN_Q_OVERFLOW) {
                crate::fail!(
                    Failed,
                    "the trace's fanotify watch: the kernel dropped events (queue overflow)"
                );
            }
            let Some(fd) = event.fd() else { continue };
            if !members.contains(&event.pid()) {
                continue;
            }
            let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
                continue;
            };
            // Events alike of one process are merged into one with both bits.
            let access = seen.entry(undeleted(path)).or_default();
            access.read |= event.mask().contains(MaskFlags::FAN_CLOSE_NOWRITE);
            access.write |= event.mask().contains(MaskFlags::FAN_CLOSE_WRITE);
        }
    }
    Ok(seen.into_iter().collect())
}

/// The name a file had: the kernel marks that of a file removed while open (a temporary file
/// written, then unlinked before its close) with a suffix.
fn undeleted(path: PathBuf) -> PathBuf {
    const SUFFIX: &[u8] = b" (deleted)";
    match path.as_os_str().as_bytes().strip_suffix(SUFFIX) {
        Some(name) if !path.exists() => PathBuf::from(OsString::from_vec(name.to_vec())),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_skip_pseudo_file_systems_and_unescape() {
        let line = |point: &str, fstype: &str| {
            format!("36 25 0:32 / {point} rw,relatime shared:1 - {fstype} src rw")
        };
        let point = |l: String| mount_point(l.as_bytes());
        assert_eq!(point(line("/", "ext4")), Some(PathBuf::from("/")));
        assert_eq!(point(line("/proc", "proc")), None);
        assert_eq!(
            point(line("/mnt/a\\040b", "tmpfs")),
            Some(PathBuf::from("/mnt/a b"))
        );
        assert_eq!(mount_point(b"36 25 0:32 / /x rw"), None);
        // Not UTF-8: kept as it is.
        assert_eq!(
            mount_point(b"36 25 0:32 / /mnt/\xff rw - ext4 src rw"),
            Some(PathBuf::from(OsString::from_vec(b"/mnt/\xff".to_vec())))
        );
    }

    /// A process of the tree reads one file (through a symlink: the file is recorded), writes
    /// another and a third it removes before closing it; this process, not of the tree, reads a
    /// fourth: only the tree's are recorded.
    #[test]
    fn only_the_trees_closes_are_recorded_read_or_written() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        for name in ["read.txt", "ours.txt"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::os::unix::fs::symlink("read.txt", dir.path().join("link.txt")).unwrap();
        let watch = start(dir.path()).expect("fanotify needs CAP_SYS_ADMIN: the tests run as root");
        // It waits for its go, so that it is of the tree before it opens anything.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "read go; : < link.txt; echo x > written.txt; exec 3>gone.txt; rm gone.txt",
            ])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        watch.join(child.id() as libc::pid_t);
        std::fs::read(dir.path().join("ours.txt")).unwrap();
        writeln!(child.stdin.take().unwrap(), "go").unwrap();
        assert!(child.wait().unwrap().success());
        let paths = watch.finish().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let recorded: BTreeMap<PathBuf, Access> = paths
            .into_iter()
            .filter(|(p, _)| p.starts_with(&base))
            .collect();
        let (read, written) = (
            Access {
                read: true,
                ..Access::default()
            },
            Access {
                write: true,
                ..Access::default()
            },
        );
        let want = BTreeMap::from([
            (base.join("gone.txt"), written),
            (base.join("read.txt"), read),
            (base.join("written.txt"), written),
        ]);
        assert_eq!(recorded, want);
    }
}
