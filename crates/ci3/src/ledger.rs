//! What the cache did on this machine, one JSON line per download and upload, for `cache_stats`.
//!
//! When the store is shared (a remote one: S3, a ci3 server; a directory store stays this
//! machine's), each line is also put into the store as an object of its own under
//! `.ci3/ledgers/DAY/`, so the dashboard adds up every machine's lines; one object per line
//! needs no append, which no store has, and two machines never write the same name.
//!
//! The file is `$XDG_CACHE_HOME/ci3/ledger.jsonl`, appended to with one write per line (whole
//! lines, however many tools append at once) and moved to `ledger.1.jsonl` past 8 MiB, so two
//! files at most are kept. A build's time is what lies between a miss and the upload of the
//! same name; a hit saves about the last such time of its project (the name before its key).
//! Writing it never fails a tool: an entry that cannot be written is dropped.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::hash::manifest::stem;
use crate::settings::Settings;
use crate::store::Store;
use crate::store::{Reach, Selected};

const ROTATE_AT: u64 = 8 << 20;
/// A miss and an upload further apart than this are not one build.
const MAX_BUILD_MS: u64 = 24 * 3600 * 1000;

/// What happened to one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    HitLocal,
    HitStore,
    Miss,
    Stored,
    LocalOnly,
    UploadFailed,
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When the operation ended, Unix milliseconds.
    pub t_ms: u64,
    pub op: Op,
    pub name: String,
    /// How long it took.
    pub ms: u64,
    /// The artifact's size, for a hit from or an upload to a shared store (lines in the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

fn files(settings: &Settings) -> (PathBuf, PathBuf) {
    settings.state().ledger()
}

/// Appends what happened to `name`, which started at `started`, to this machine's file.
pub fn append(settings: &Settings, op: Op, name: &str, started: Instant) {
    append_entry(settings, &entry(op, name, started, None));
}

/// [`append`], and the same line put into the store when it is shared, with the artifact's
/// size for the operations that moved it over the network.
pub fn append_shared(
    settings: &Settings,
    selected: &Selected,
    op: Op,
    name: &str,
    started: Instant,
) {
    // A ci3 server uploads at any CI value (its reach is this machine's), yet it is shared.
    let shared = selected.reach == Reach::Shared || selected.server.is_some();
    let moved = matches!(op, Op::HitStore | Op::Stored);
    let bytes = match shared && moved {
        true => selected.store.size(name).ok().flatten(),
        false => None,
    };
    let line = entry(op, name, started, bytes);
    append_entry(settings, &line);
    if shared {
        // Like the local file, a line that cannot be stored is dropped: never a tool's failure.
        let _ = upload(selected.store.as_ref(), &line);
    }
}

fn entry(op: Op, name: &str, started: Instant, bytes: Option<u64>) -> Entry {
    Entry {
        t_ms: crate::clock::now_micros() / 1000,
        op,
        name: name.to_string(),
        ms: started.elapsed().as_millis() as u64,
        bytes,
    }
}

/// Where the store keeps the ledger lines of the day `t_ms` falls in (`YYYY-MM-DD`).
pub const STORE_PREFIX: &str = ".ci3/ledgers/";

/// The directory of a day's lines in the store.
pub fn day_prefix(t_ms: u64) -> String {
    let day = &crate::clock::rfc3339(t_ms * 1000)[..10];
    format!("{STORE_PREFIX}{day}/")
}

/// Puts one line into the store, named by its time and random bits.
pub fn upload(store: &dyn Store, line: &Entry) -> crate::Result<()> {
    let random = crate::random::bytes::<6>()?;
    let name = format!(
        "{}{:013}-{}.json",
        day_prefix(line.t_ms),
        line.t_ms,
        hex::encode(random)
    );
    store.put_bytes(&name, &serde_json::to_vec(line)?, true)?;
    Ok(())
}

fn append_entry(settings: &Settings, entry: &Entry) {
    let (current, old) = files(settings);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(settings.state().root())?;
        if std::fs::metadata(&current).is_ok_and(|m| m.len() > ROTATE_AT) {
            std::fs::rename(&current, &old)?;
        }
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&current)?
            .write_all(&line)
    };
    let _ = write();
}

/// Every entry kept, oldest first; lines that cannot be read are skipped.
pub fn read(settings: &Settings) -> Vec<Entry> {
    let (current, old) = files(settings);
    let mut out: Vec<Entry> = [old, current]
        .iter()
        .filter_map(|p| std::fs::File::open(p).ok())
        .flat_map(|f| std::io::BufReader::new(f).lines().map_while(Result::ok))
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect();
    out.sort_by_key(|e| e.t_ms);
    out
}

/// What the entries since a time add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub hits_local: u64,
    pub hits_store: u64,
    pub misses: u64,
    pub stored: u64,
    pub local_only: u64,
    pub upload_failed: u64,
    /// Time spent downloading and uploading, milliseconds.
    pub transfer_ms: u64,
    /// Builds timed: a miss, then an upload of the same name.
    pub builds: u64,
    pub build_ms: u64,
    /// Hits whose project has a timed build, and the build time they spared.
    pub hits_estimated: u64,
    pub saved_ms: u64,
}

impl Stats {
    pub fn hits(&self) -> u64 {
        self.hits_local + self.hits_store
    }

    /// Hits per download, in percent; `None` before any download.
    pub fn hit_rate(&self) -> Option<f64> {
        let all = self.hits() + self.misses;
        (all > 0).then(|| self.hits() as f64 * 100.0 / all as f64)
    }
}

/// Adds up `entries` (oldest first) that ended at or after `since_ms`; builds timed before it
/// still estimate what later hits saved.
pub fn stats(entries: &[Entry], since_ms: u64) -> Stats {
    let mut s = Stats::default();
    let mut missed: BTreeMap<&str, u64> = BTreeMap::new();
    let mut last_build: BTreeMap<&str, u64> = BTreeMap::new();
    for e in entries {
        let counted = e.t_ms >= since_ms;
        let project = stem(&e.name).unwrap_or(&e.name);
        match e.op {
            Op::Miss => {
                missed.insert(&e.name, e.t_ms);
            }
            Op::Stored | Op::LocalOnly => {
                let began = e.t_ms.saturating_sub(e.ms);
                if let Some(miss) = missed.remove(e.name.as_str()) {
                    let build = began.saturating_sub(miss);
                    if build <= MAX_BUILD_MS {
                        last_build.insert(project, build);
                        if counted {
                            s.builds += 1;
                            s.build_ms += build;
                        }
                    }
                }
            }
            Op::HitLocal | Op::HitStore if counted => {
                if let Some(build) = last_build.get(project) {
                    s.hits_estimated += 1;
                    s.saved_ms += build;
                }
            }
            _ => {}
        }
        if !counted {
            continue;
        }
        s.transfer_ms += e.ms;
        match e.op {
            Op::HitLocal => s.hits_local += 1,
            Op::HitStore => s.hits_store += 1,
            Op::Miss => s.misses += 1,
            Op::Stored => s.stored += 1,
            Op::LocalOnly => s.local_only += 1,
            Op::UploadFailed => s.upload_failed += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(t_ms: u64, op: Op, name: &str, ms: u64) -> Entry {
        Entry {
            t_ms,
            op,
            name: name.into(),
            ms,
            bytes: None,
        }
    }

    #[test]
    fn builds_are_timed_from_a_miss_to_the_upload_and_hits_save_them() {
        let k1 = "noir-0123456789abcdef.tar.gz";
        let k2 = "noir-fedcba9876543210.tar.gz";
        let entries = [
            e(1_000, Op::Miss, k1, 10),
            e(61_000, Op::Stored, k1, 1_000), // built from 1 s to 60 s: 59 s
            e(70_000, Op::HitStore, k1, 500),
            e(80_000, Op::HitLocal, k2, 100), // another key of the same project
            e(90_000, Op::HitLocal, "other-0123456789abcdef.tar.gz", 100), // never built here
        ];
        let s = stats(&entries, 0);
        assert_eq!((s.hits_local, s.hits_store, s.misses), (2, 1, 1));
        assert_eq!((s.builds, s.build_ms), (1, 59_000));
        assert_eq!((s.hits_estimated, s.saved_ms), (2, 118_000));
        assert_eq!(s.hit_rate(), Some(75.0));
        assert_eq!(s.transfer_ms, 10 + 1_000 + 500 + 100 + 100);
        // Since a later time: the build is known, only later entries count.
        let later = stats(&entries, 75_000);
        assert_eq!((later.hits(), later.misses, later.builds), (2, 0, 0));
        assert_eq!(later.saved_ms, 59_000);
    }

    #[test]
    fn appends_whole_lines_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::from_vars([("XDG_CACHE_HOME", dir.path())]);
        let started = Instant::now();
        append(&settings, Op::Miss, "a-0123456789abcdef.tar.gz", started);
        append(&settings, Op::Stored, "a-0123456789abcdef.tar.gz", started);
        let read_back = read(&settings);
        assert_eq!(read_back.len(), 2);
        assert_eq!(read_back[0].op, Op::Miss);
        std::fs::write(dir.path().join("ci3/ledger.1.jsonl"), "not json\n").unwrap();
        assert_eq!(read(&settings).len(), 2, "unreadable lines are skipped");
    }
}
