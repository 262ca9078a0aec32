//! Temporary files and directories named after the process that owns them, and the sweep that
//! removes those whose owner is gone: a tool killed mid-transfer leaves them behind, and the next
//! tool working in the same place clears them.
//!
//! A name is `.ci3-KIND-PID-START-RANDOM`, where START is the owner's start time in clock ticks
//! since boot (`/proc/PID/stat`), so a recycled process id never passes for the owner.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The name prefix of this process's scratch entries of `kind`, for `tempfile::Builder::prefix`.
pub fn prefix(kind: &str) -> String {
    let (pid, start) = me();
    format!(".ci3-{kind}-{pid}-{start}-")
}

/// A private temporary file in `dir`, named as this process's.
pub fn file_in(dir: &Path, kind: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&prefix(kind))
        .tempfile_in(dir)
}

/// A private temporary directory in `dir`, named as this process's.
pub fn dir_in(dir: &Path, kind: &str) -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&prefix(kind))
        .tempdir_in(dir)
}

/// This process's id and start time.
fn me() -> (u32, u64) {
    static ME: OnceLock<(u32, u64)> = OnceLock::new();
    *ME.get_or_init(|| {
        let pid = std::process::id();
        (pid, start_time(pid).unwrap_or(0))
    })
}

/// A process's start time in clock ticks since boot: field 22 of `/proc/PID/stat`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The owner written in a scratch entry's name.
fn owner(name: &str) -> Option<(u32, u64)> {
    let rest = name.strip_prefix(".ci3-")?;
    let mut parts = rest.split('-');
    // KIND, then PID and START; KIND itself has no '-'.
    let _kind = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    Some((pid, start))
}

/// Whether the process that named an entry is gone.
fn is_orphan(name: &str) -> bool {
    match owner(name) {
        Some((pid, start)) => start_time(pid) != Some(start),
        None => false,
    }
}

/// What a sweep found in one directory.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Orphaned scratch entries removed.
    pub removed: Vec<PathBuf>,
}

/// Removes the orphaned scratch entries of `kinds` in `dir`. `before_removing` is called for
/// each orphan first and may finish its work (a journal to replay); an entry it fails on is
/// left alone. It reads the whole directory: a few milliseconds for ten thousand entries, small
/// beside the transfer that follows.
pub fn sweep(
    dir: &Path,
    kinds: &[&str],
    before_removing: &dyn Fn(&Path) -> io::Result<()>,
) -> Swept {
    let mut swept = Swept::default();
    let Ok(read) = fs::read_dir(dir) else {
        return swept;
    };
    for entry in read.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = kinds
            .iter()
            .any(|k| name.starts_with(&format!(".ci3-{k}-")));
        if !ours || !is_orphan(name) {
            continue;
        }
        let path = entry.path();
        if before_removing(&path).is_err() {
            continue;
        }
        let removed = match entry.file_type() {
            Ok(t) if t.is_dir() => remove_tree(&path),
            _ => fs::remove_file(&path),
        };
        if removed.is_ok() {
            swept.removed.push(path);
        }
    }
    swept
}

/// Removes a directory tree, making read-only directories in it writable first (an extracted
/// archive may have restored such modes).
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            open_up(path);
            fs::remove_dir_all(path)
        }
        other => other,
    }
}

fn open_up(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(md) = fs::symlink_metadata(path) else {
        return;
    };
    if md.is_dir() {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
        if let Ok(read) = fs::read_dir(path) {
            for e in read.flatten() {
                open_up(&e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_live_owner() {
        let dir = tempfile::tempdir().unwrap();
        let mine = file_in(dir.path(), "upload").unwrap();
        let name = mine
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(owner(&name).map(|o| o.0), Some(std::process::id()));
        assert!(!is_orphan(&name));
        assert!(sweep(dir.path(), &["upload"], &|_| Ok(()))
            .removed
            .is_empty());
        assert!(mine.path().exists());
    }

    #[test]
    fn orphans_are_swept_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (pid, start) = me();
        // The same pid with another start time is a recycled id: its owner is gone.
        let dead = dir
            .path()
            .join(format!(".ci3-upload-{pid}-{}-x", start + 1));
        fs::write(&dead, b"debris").unwrap();
        let dead_dir = dir
            .path()
            .join(format!(".ci3-staging-{pid}-{}-y", start + 7));
        fs::create_dir_all(dead_dir.join("sub")).unwrap();
        let live = dir.path().join(format!(".ci3-upload-{pid}-{start}-z"));
        fs::write(&live, b"in use").unwrap();
        let other = dir.path().join("app-0123.tar.gz");
        fs::write(&other, b"artifact").unwrap();
        let foreign = dir.path().join(".ci3-put-notanumber-1-x");
        fs::write(&foreign, b"?").unwrap();

        let swept = sweep(dir.path(), &["upload", "staging", "put"], &|_| Ok(()));
        let mut removed = swept.removed.clone();
        removed.sort();
        let mut expected = vec![dead.clone(), dead_dir.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(live.exists() && other.exists() && foreign.exists());
    }
}
