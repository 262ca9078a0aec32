//! Keeping a directory of artifacts (the directory store, the local cache) under a size and an
//! age cap, least recently used first.
//!
//! A read records its access (the file's access time, set explicitly, so `relatime` mounts do
//! not hide it). After a write the directory's usage is checked cheaply: a small ledger file
//! (under `$XDG_CACHE_HOME/ci3/usage/`, never among the artifacts) keeps the running total, and
//! the directory is only walked when the total passes the cap or the last walk is an hour old. Removal is an unlink, which never disturbs a tool still reading the file.
//! Scratch files (`.ci3-*`) and run records (`.ci3/runs/`, `.ci3/ci-runs/`) are never evicted.

use std::fs::{self, File, FileTimes};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The caps of one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_size: u64,
    pub max_age: Option<Duration>,
}

/// The caps configured (`CI3_CACHE_MAX_SIZE`, `CI3_CACHE_MAX_AGE`), for any directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caps {
    pub max_size: Option<u64>,
    pub max_age: Option<Duration>,
    /// Where the ledgers of the running totals are kept; without, every write walks.
    pub ledgers: Option<PathBuf>,
}

impl Caps {
    /// The limits of `dir`: the configured size, else the default for its filesystem.
    pub fn for_dir(&self, dir: &Path) -> Limits {
        Limits {
            max_size: self.max_size.unwrap_or_else(|| default_max_size(dir)),
            max_age: self.max_age,
        }
    }

    /// Called after `written` bytes were added to `dir`: walks and evicts only when needed.
    pub fn after_write(&self, dir: &Path, written: u64) {
        let ledger = self.ledgers.as_ref().map(|l| {
            let id = blake3::hash(dir.as_os_str().as_encoded_bytes()).to_hex();
            l.join(&id.as_str()[..16])
        });
        after_write(dir, self.for_dir(dir), written, ledger.as_deref());
    }
}

/// `20G`, `500M`, `1T`, `64K` or a number of bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let shift = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    let number: f64 = number.trim().parse().ok()?;
    (number >= 0.0).then(|| (number * (1u64 << shift) as f64) as u64)
}

/// `30d`, `12h`, `90m`, `3600s` or a number of seconds.
pub fn parse_age(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    let number: u64 = number.trim().parse().ok()?;
    Some(Duration::from_secs(number.checked_mul(seconds)?))
}

/// The cap when none is set: 10% of the filesystem, at most 50 GiB.
pub fn default_max_size(dir: &Path) -> u64 {
    const CEILING: u64 = 50 << 30;
    // The nearest existing ancestor: the directory may not exist yet.
    let probe = dir
        .ancestors()
        .find(|d| d.exists())
        .unwrap_or(Path::new("/"));
    filesystem_size(probe).map_or(CEILING, |size| (size / 10).min(CEILING))
}

fn filesystem_size(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct it is given and reads a NUL-terminated path.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        Some(st.f_blocks as u64 * st.f_frsize as u64)
    }
}

/// Records a read of `path`, for least-recently-used eviction.
pub fn touch(file: &File) {
    let _ = file.set_times(FileTimes::new().set_accessed(SystemTime::now()));
}

/// How often the whole directory is walked even when the ledger says it is under the cap.
const WALK_EVERY: Duration = Duration::from_secs(3600);
/// After eviction the directory is brought to this share of the cap, so that the next few
/// writes do not each walk it again.
const LOW_WATER: f64 = 0.9;

/// Called after `written` bytes were added to `dir`: walks and evicts only when the running total
/// kept in `ledger` passes the cap, or the last walk is old.
fn after_write(dir: &Path, limits: Limits, written: u64, ledger: Option<&Path>) {
    let now = crate::clock::now_secs();
    let (total, walked) = ledger
        .and_then(|l| fs::read_to_string(l).ok())
        .and_then(|t| {
            let mut words = t.split_whitespace();
            Some((
                words.next()?.parse::<u64>().ok()?,
                words.next()?.parse::<u64>().ok()?,
            ))
        })
        .unwrap_or((u64::MAX, 0));
    let total = total.saturating_add(written);
    let due = now.saturating_sub(walked) >= WALK_EVERY.as_secs();
    let record = |total: u64, walked: u64| {
        if let Some(l) = ledger {
            if let Some(parent) = l.parent() {
                let _ = fs::create_dir_all(parent);
            }
            let _ = fs::write(l, format!("{total} {walked}\n"));
        }
    };
    if total <= limits.max_size && !due {
        record(total, walked);
        return;
    }
    if let Ok(report) = collect(dir, limits, false) {
        record(report.kept_size, now);
    }
}

/// One file removed (or, on a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evicted {
    pub path: PathBuf,
    pub size: u64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub evicted: Vec<Evicted>,
    /// What stays, in bytes.
    pub kept_size: u64,
}

struct Candidate {
    path: PathBuf,
    size: u64,
    used: SystemTime,
}

/// Walks `dir` and removes what is older than the age cap, then the least recently used until
/// the rest fits under the cap (with some room to spare). With `dry_run`, removes nothing.
pub fn collect(dir: &Path, limits: Limits, dry_run: bool) -> io::Result<Report> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort_by_key(|c| c.used);
    let now = SystemTime::now();
    let mut total: u64 = files.iter().map(|c| c.size).sum();
    let target = if total > limits.max_size {
        (limits.max_size as f64 * LOW_WATER) as u64
    } else {
        limits.max_size
    };
    let mut report = Report::default();
    for c in files {
        let expired = limits
            .max_age
            .is_some_and(|age| now.duration_since(c.used).is_ok_and(|d| d > age));
        if !(expired || total > target) {
            continue;
        }
        if dry_run || fs::remove_file(&c.path).is_ok() {
            total -= c.size;
            report.evicted.push(Evicted {
                path: c.path,
                size: c.size,
            });
        }
    }
    report.kept_size = total;
    Ok(report)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Candidate>) -> io::Result<()> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in read.flatten() {
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".ci3-") {
            continue;
        }
        let path = entry.path();
        let Ok(md) = entry.metadata() else { continue };
        if md.is_dir() {
            // Run records: the task runner's and the server's (`/runs`) are history, not cache.
            if path != root.join(".ci3/runs") && path != root.join(".ci3/ci-runs") {
                walk(root, &path, out)?;
            }
        } else if md.is_file() {
            // The later of the last read and the write: a file just written is recent too.
            let used = md
                .accessed()
                .ok()
                .max(md.modified().ok())
                .unwrap_or(UNIX_EPOCH);
            out.push(Candidate {
                path,
                size: md.len(),
                used,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, size: usize, used_secs_ago: u64) -> PathBuf {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, vec![0u8; size]).unwrap();
        let t = SystemTime::now() - Duration::from_secs(used_secs_ago);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_times(FileTimes::new().set_accessed(t).set_modified(t))
            .unwrap();
        path
    }

    #[test]
    fn sizes_and_ages_as_people_write_them() {
        assert_eq!(parse_size("20G"), Some(20 << 30));
        assert_eq!(parse_size("1.5M"), Some(3 << 19));
        assert_eq!(parse_size("64KiB"), Some(64 << 10));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("ten"), None);
        assert_eq!(parse_age("7d"), Some(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_age("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_age("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_age("1w"), None);
    }

    #[test]
    fn least_recently_used_go_first_and_the_cap_holds() {
        let dir = tempfile::tempdir().unwrap();
        let old = file(dir.path(), "old.zst", 400, 300);
        let mid = file(dir.path(), "mid.zst", 400, 200);
        let new = file(dir.path(), "new.zst", 400, 100);
        let record = file(dir.path(), ".ci3/runs/r1", 400, 1000);
        let scratch = file(dir.path(), ".ci3-upload-1-2-x", 400, 1000);
        let limits = Limits {
            max_size: 1000,
            max_age: None,
        };
        let dry = collect(dir.path(), limits, true).unwrap();
        assert_eq!(
            dry.evicted.iter().map(|e| &e.path).collect::<Vec<_>>(),
            [&old]
        );
        assert!(old.exists(), "a dry run removes nothing");
        let report = collect(dir.path(), limits, false).unwrap();
        // 1,200 bytes over a 1,000-byte cap: down to 900, the oldest first.
        assert_eq!(report.evicted.len(), 1);
        assert!(!old.exists() && mid.exists() && new.exists());
        assert!(record.exists() && scratch.exists());
        assert_eq!(report.kept_size, 800);
    }

    #[test]
    fn a_read_keeps_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = file(dir.path(), "a", 600, 300);
        let b = file(dir.path(), "b", 600, 200);
        touch(&File::open(&a).unwrap());
        let report = collect(
            dir.path(),
            Limits {
                max_size: 1000,
                max_age: None,
            },
            false,
        )
        .unwrap();
        assert_eq!(report.evicted[0].path, b);
        assert!(a.exists());
    }

    #[test]
    fn the_age_cap_removes_what_was_not_used_lately() {
        let dir = tempfile::tempdir().unwrap();
        let stale = file(dir.path(), "stale", 10, 3 * 86400);
        let fresh = file(dir.path(), "fresh", 10, 60);
        let limits = Limits {
            max_size: u64::MAX,
            max_age: Some(Duration::from_secs(86400)),
        };
        collect(dir.path(), limits, false).unwrap();
        assert!(!stale.exists() && fresh.exists());
    }

    #[test]
    fn writes_walk_only_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let ledgers = tempfile::tempdir().unwrap();
        let caps = Caps {
            max_size: Some(1000),
            max_age: None,
            ledgers: Some(ledgers.path().to_path_buf()),
        };
        file(dir.path(), "a", 500, 100);
        caps.after_write(dir.path(), 500);
        let ledger = fs::read_dir(ledgers.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert_eq!(
            fs::read_to_string(&ledger).unwrap().split(' ').next(),
            Some("500")
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing among the artifacts"
        );
        // The ledger alone is trusted until it passes the cap.
        file(dir.path(), "b", 400, 50);
        caps.after_write(dir.path(), 400);
        assert!(dir.path().join("a").exists());
        file(dir.path(), "c", 400, 10);
        caps.after_write(dir.path(), 400);
        assert!(
            !dir.path().join("a").exists(),
            "the least recently used went"
        );
        assert!(dir.path().join("b").exists() && dir.path().join("c").exists());
    }
}
