//! Run records in the store, under the prefix the store's naming module reserves for them.
//!
//! One run writes, each create-only and so never overwritten:
//! - `runs/id/RUN.json`: the record itself, complete or absent;
//! - `runs/history/APP.TASK/LATER.RUN.RESULT.DIGEST.DURATION`: the task's history;
//! - `runs/success/APP.TASK/DIGEST.LATER.RUN.COMMIT`, for a success only.
//!
//! `LATER` is the run's start counted down from a fixed far future, so names sort newest first:
//! "the last N runs" and "the latest successful run with this digest" are the first names of one
//! prefix, which a store lists a page at a time; neither reads a record, nor lists a task's
//! whole history (the duration is in microseconds).
//!
//! Run ids start with the UTC time to the microsecond and end with random bits, so they sort by
//! time and two machines sharing a bucket never pick the same one.
//!
//! Records are signed like every small object when a signing key is configured; with trusted
//! keys configured, a record none of them signed is no record: its names alone never make a
//! task `Exist`.

use std::io::Read;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::inputs::Input;
use crate::clock::{self, days_from_civil};
use crate::store::{names, Put, Store};
use crate::trust::Trust;
use crate::Kind;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    Success,
    Failure,
}

impl RunResult {
    /// `success` or `failure`, as names and listings say it.
    pub fn word(self) -> &'static str {
        match self {
            RunResult::Success => "success",
            RunResult::Failure => "failure",
        }
    }
}

/// An output as it was when the run ended, and where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// `file:PATH` relative to the app dir, or `docker:IDFILE`.
    pub name: String,
    /// `blake3:<hex>` of the bytes.
    pub digest: String,
    pub size: u64,
    /// The file's permission bits, for a restore to bring back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Every place it was stored or uploaded to.
    pub uploads: Vec<Upload>,
}

/// One place an output went, and how long putting it there took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub uri: String,
    pub duration_us: u64,
}

/// Everything known about one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub app: String,
    pub task: String,
    /// Relative to the root.
    pub app_dir: String,
    pub total_digest: String,
    pub inputs: Vec<Input>,
    pub outputs: Vec<OutputRecord>,
    /// Unix time in microseconds.
    pub start_us: u64,
    pub stop_us: u64,
    pub result: RunResult,
    /// The command's exit code; `None` when it could not be started or was killed.
    pub exit_code: Option<i32>,
    /// Why a failure failed, in one line.
    pub error: Option<String>,
    pub git_commit: Option<String>,
    pub git_dirty: bool,
    pub host: Option<String>,
}

impl Record {
    /// Whether this record is a success of task `app.task` with inputs `digest`: what a
    /// success name claims, and all a signature binds (the record's name binds its id).
    pub fn is_success_of(&self, app: &str, task: &str, digest: &str) -> bool {
        self.result == RunResult::Success
            && self.app == app
            && self.task == task
            && self.total_digest == digest
    }
}

/// A run as a listing of the task's history shows it, without reading the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntry {
    pub id: String,
    pub result: RunResult,
    /// `blake3:<hex>`.
    pub total_digest: String,
    /// How long the run took, in microseconds.
    pub duration_us: u64,
}

impl RunEntry {
    /// When the run started, from its id: Unix time in microseconds.
    pub fn start_us(&self) -> u64 {
        start_of(&self.id)
    }
}

/// A successful run found by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub git_commit: Option<String>,
}

/// A new run id for a run that starts at `start_us`: `YYYYMMDDTHHMMSSffffff-RANDOM`.
pub fn new_run_id(start_us: u64) -> Result<String> {
    let mut random = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .context("cannot read /dev/urandom")?;
    Ok(format!(
        "{}{:06}-{}",
        clock::utc_compact(start_us / 1_000_000),
        start_us % 1_000_000,
        hex::encode(random)
    ))
}

/// Whether `s` has the shape of a run id (so it cannot be a target: targets have no `-` run
/// of this form and ids no `.`).
pub fn is_run_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 34
        && b[8] == b'T'
        && b[21] == b'-'
        && b[..8].iter().chain(&b[9..21]).all(u8::is_ascii_digit)
        && b[22..].iter().all(u8::is_ascii_hexdigit)
}

fn hex_of(digest: &str) -> Result<&str> {
    digest
        .strip_prefix("blake3:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| anyhow!("not a digest: {digest}"))
}

/// The object holding the record of run `id`.
pub fn record_name(id: &str) -> String {
    format!("{}id/{id}.json", names::RUNS)
}

fn history_prefix(app: &str, task: &str) -> String {
    format!("{}history/{app}.{task}/", names::RUNS)
}

fn ok_prefix(app: &str, task: &str, digest_hex: &str) -> String {
    format!("{}success/{app}.{task}/{digest_hex}.", names::RUNS)
}

/// A time far enough ahead (year 5138) that every start counted down from it has 17 digits.
const FAR_FUTURE_US: u64 = 99_999_999_999_999_999;

/// The part of an index name that makes later runs sort first.
fn later_first(start_us: u64) -> String {
    format!("{:017}", FAR_FUTURE_US.saturating_sub(start_us))
}

/// `LATER.REST` -> `REST`, for a well-formed `LATER`.
fn strip_later(name: &str) -> Option<&str> {
    let (later, rest) = name.split_once('.')?;
    (later.len() == 17 && later.bytes().all(|b| b.is_ascii_digit())).then_some(rest)
}

/// Stores a run: the record first, then the names that make it found. A run whose record was
/// written but not its names is only never matched, which runs it again: nothing is lost.
pub fn write(store: &dyn Store, trust: &Trust, r: &Record) -> Result<()> {
    let hex = hex_of(&r.total_digest)?;
    let json = serde_json::to_vec_pretty(r)?;
    let name = record_name(&r.id);
    if store.put_bytes(&name, &trust.sign_bytes(&name, &json), true)? == Put::AlreadyExists {
        bail!("run record {} already exists", r.id);
    }
    // The names below hold the run id, which no other runner picks: one found already there
    // is this run's own write, answered by a retry after a lost response.
    let later = later_first(start_of(&r.id));
    store.put_bytes(
        &format!(
            "{}{later}.{}.{}.{hex}.{}",
            history_prefix(&r.app, &r.task),
            r.id,
            r.result.word(),
            r.stop_us.saturating_sub(r.start_us)
        ),
        r.id.as_bytes(),
        true,
    )?;
    if r.result == RunResult::Success {
        let commit = r.git_commit.as_deref().unwrap_or("none");
        store.put_bytes(
            &format!(
                "{}{later}.{}.{commit}",
                ok_prefix(&r.app, &r.task, hex),
                r.id
            ),
            r.id.as_bytes(),
            true,
        )?;
    }
    Ok(())
}

/// What looking up a digest found: the run, and why candidates were refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub found: Option<Found>,
    /// One line per run whose names say success but whose record is not to be trusted.
    pub refused: Vec<String>,
}

/// The stores to look in, in order: the one written to, then `CI3_READ_STORES`.
fn tiers(store: &dyn Store) -> Vec<&dyn Store> {
    store.read_tiers().unwrap_or_else(|| vec![store])
}

/// How many names one listing asks for when candidates may be refused.
const PAGE: usize = 100;

/// The latest successful run of the task with this digest, from the first tier that has one.
/// Without trusted keys that is the first name under the digest's prefix. With trusted keys,
/// the record of each candidate (newest first) is read, must be signed by one of them and must
/// be a success of this very task with this digest: names alone can be written (or copied from
/// another task's prefix) by anyone with write access to the bucket.
pub fn find_success(
    store: &dyn Store,
    trust: &Trust,
    app: &str,
    task: &str,
    digest: &str,
) -> Result<Lookup> {
    let prefix = ok_prefix(app, task, hex_of(digest)?);
    let mut lookup = Lookup::default();
    let want = if trust.checks() { PAGE } else { 1 };
    for tier in tiers(store) {
        let mut after: Option<String> = None;
        loop {
            let page = tier.list_sorted(&prefix, after.as_deref(), want)?;
            for name in &page {
                let Some(c) = success_entry(&name[prefix.len()..]) else {
                    continue;
                };
                if !trust.checks() {
                    lookup.found = Some(c);
                    return Ok(lookup);
                }
                match load(store, trust, &c.id) {
                    Ok(Some(r)) if r.is_success_of(app, task, digest) => {
                        lookup.found = Some(c);
                        return Ok(lookup);
                    }
                    Ok(Some(_)) => lookup
                        .refused
                        .push(format!("run {}: its record does not match its name", c.id)),
                    Ok(None) => lookup
                        .refused
                        .push(format!("run {}: named but its record is missing", c.id)),
                    Err(e) => lookup.refused.push(format!("{e:#}")),
                }
            }
            if page.len() < want {
                break;
            }
            after = page.last().cloned();
        }
    }
    Ok(lookup)
}

/// `LATER.RUN.COMMIT` -> the run.
fn success_entry(name: &str) -> Option<Found> {
    let (id, commit) = strip_later(name)?.split_once('.')?;
    is_run_id(id).then(|| Found {
        id: id.to_string(),
        git_commit: (commit != "none").then(|| commit.to_string()),
    })
}

/// Which runs of a task's history to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Only runs started after this time (Unix microseconds).
    pub after: Option<u64>,
    /// Only runs started before this time.
    pub before: Option<u64>,
    /// At most this many, the latest.
    pub limit: Option<usize>,
}

/// The runs of the task in `window`, newest first, from every tier. Listing starts at the
/// window's end and stops at its start or its limit: the length of the history beyond them costs
/// nothing.
pub fn history(store: &dyn Store, app: &str, task: &str, window: Window) -> Result<Vec<RunEntry>> {
    let prefix = history_prefix(app, task);
    let limit = window.limit.unwrap_or(usize::MAX);
    let mut out: Vec<RunEntry> = Vec::new();
    for tier in tiers(store) {
        // Names of runs started at or after `before` sort at or before this one.
        let mut after = window.before.map(|b| format!("{prefix}{}", later_first(b)));
        let mut taken = 0;
        // Names skipped (outside the window's end, or not ours) make the next page larger.
        let mut grow = 1usize;
        'pages: loop {
            let want = limit
                .saturating_sub(taken)
                .saturating_mul(grow)
                .clamp(1, 1000);
            grow = grow.saturating_mul(2);
            let page = tier.list_sorted(&prefix, after.as_deref(), want)?;
            for name in &page {
                let Some(e) = parse_entry(&name[prefix.len()..]) else {
                    continue;
                };
                if window.after.is_some_and(|t| e.start_us() <= t) {
                    break 'pages;
                }
                if window.before.is_none_or(|t| e.start_us() < t) {
                    out.push(e);
                    taken += 1;
                    if taken >= limit {
                        break 'pages;
                    }
                }
            }
            if page.len() < want {
                break;
            }
            after = page.last().cloned();
        }
    }
    out.sort_by(|a, b| b.id.cmp(&a.id));
    out.dedup_by(|a, b| a.id == b.id);
    out.truncate(limit);
    Ok(out)
}

/// Runs of the tasks `tasks` (`(app, task)`) in `window`, newest first: the listings of several
/// tasks at once (each is a round trip to S3).
pub fn list_runs(
    store: &dyn Store,
    tasks: &[(String, String)],
    window: Window,
) -> Result<Vec<(String, String, RunEntry)>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found = std::sync::Mutex::new(Vec::new());
    let failed = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..tasks.len().clamp(1, 16) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((app, task)) = tasks.get(i) else {
                    break;
                };
                match history(store, app, task, window) {
                    Ok(h) => found
                        .lock()
                        .expect("runs")
                        .extend(h.into_iter().map(|r| (app.clone(), task.clone(), r))),
                    Err(e) => *failed.lock().expect("runs") = Some(e),
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().expect("runs") {
        return Err(e);
    }
    let mut out = found.into_inner().expect("runs");
    out.sort_by(|x, y| y.2.id.cmp(&x.2.id));
    out.truncate(window.limit.unwrap_or(usize::MAX));
    Ok(out)
}

/// The run a history name (below `history/`, `APP.TASK/LATER.RUN...`) stands for.
pub fn entry_of_history_name(name: &str) -> Option<RunEntry> {
    parse_entry(name.rsplit_once('/')?.1)
}

/// `LATER.RUN.RESULT.DIGEST.DURATION` -> the run.
fn parse_entry(name: &str) -> Option<RunEntry> {
    let mut parts = strip_later(name)?.split('.');
    let id = parts.next()?;
    let result = match parts.next()? {
        "success" => RunResult::Success,
        "failure" => RunResult::Failure,
        _ => return None,
    };
    let hex = parts.next()?;
    let duration_us = parts.next()?.parse().ok()?;
    is_run_id(id).then(|| RunEntry {
        id: id.to_string(),
        result,
        total_digest: format!("blake3:{hex}"),
        duration_us,
    })
}

/// The record of a run, `None` when there is none with this id; an error for a record the
/// trusted keys did not sign.
pub fn load(store: &dyn Store, trust: &Trust, id: &str) -> Result<Option<Record>> {
    if !is_run_id(id) {
        bail!("{id}: not a run id");
    }
    let name = record_name(id);
    let mut buf = Vec::new();
    if !store.get(&name, &mut buf)? {
        return Ok(None);
    }
    let body = match trust.verify_bytes(&name, &buf) {
        Ok(body) => body,
        Err(e) if e.kind() == Kind::Untrusted => {
            bail!("run record {id} is not trusted, ignored: {e}")
        }
        Err(e) => return Err(e.into()),
    };
    let r: Record =
        serde_json::from_slice(body).with_context(|| format!("run record {id} is corrupt"))?;
    if r.id != id {
        bail!("run record {id} holds run {}", r.id);
    }
    Ok(Some(r))
}

/// The record of run `id` that a history name of task `app.task` points to; a record of
/// another task is an error, as a name anyone could have copied there.
pub fn load_of(
    store: &dyn Store,
    trust: &Trust,
    app: &str,
    task: &str,
    id: &str,
) -> Result<Option<Record>> {
    match load(store, trust, id)? {
        Some(r) if r.app != app || r.task != task => {
            bail!(
                "run record {id} is a run of {}.{}, not of {app}.{task}",
                r.app,
                r.task
            )
        }
        found => Ok(found),
    }
}

/// Unix time in microseconds of the start of run `id` (0 for a malformed one).
pub fn start_of(id: &str) -> u64 {
    let n = |r: std::ops::Range<usize>| id.get(r).and_then(|s| s.parse::<u64>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s), Some(us)) = (
        n(0..4),
        n(4..6),
        n(6..8),
        n(9..11),
        n(11..13),
        n(13..15),
        n(15..21),
    ) else {
        return 0;
    };
    days_from_civil(y, mo, d) * 86_400_000_000 + (h * 3600 + mi * 60 + s) * 1_000_000 + us
}

/// A date or time as given to `--after`/`--before`/`--from`: a run id (its start), or a date
/// as [`clock::parse_date`] reads it; Unix time in microseconds.
pub fn parse_time(s: &str) -> Result<u64> {
    if is_run_id(s) {
        return Ok(start_of(s));
    }
    Ok(clock::parse_date(s)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DirStore, ReadOnly, Tiered};

    const T0: u64 = 1_700_000_000_000_000;

    fn record(start_us: u64, result: RunResult, digest: &str) -> Record {
        Record {
            id: new_run_id(start_us).unwrap(),
            app: "calc".into(),
            task: "build".into(),
            app_dir: "calc".into(),
            total_digest: format!("blake3:{}", digest.repeat(64)),
            inputs: Vec::new(),
            outputs: Vec::new(),
            start_us,
            stop_us: start_us + 1500,
            result,
            exit_code: Some(0),
            error: None,
            git_commit: Some("c0ffee".into()),
            git_dirty: false,
            host: None,
        }
    }

    #[test]
    fn history_is_newest_first_and_windows_stop_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_path_buf());
        let trust = Trust::new(None, None);
        // Written out of order: the names, not the writing, give the order.
        let mut ids = Vec::new();
        for i in [3u64, 0, 4, 1, 2] {
            let r = record(T0 + i * 1_000_000, RunResult::Success, "a");
            write(&store, &trust, &r).unwrap();
            ids.push((i, r.id));
        }
        ids.sort();
        let id = |i: usize| ids[i].1.clone();
        let got = |w: Window| -> Vec<String> {
            history(&store, "calc", "build", w)
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(got(Window::default()), [id(4), id(3), id(2), id(1), id(0)]);
        let last2 = Window {
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(got(last2), [id(4), id(3)]);
        let between = Window {
            after: Some(T0 + 1_000_000),
            before: Some(T0 + 4_000_000),
            limit: None,
        };
        assert_eq!(got(between), [id(3), id(2)], "both ends exclusive");
        let e = &history(&store, "calc", "build", last2).unwrap()[0];
        assert_eq!(e.duration_us, 1500);
        assert_eq!(e.start_us(), T0 + 4_000_000);

        let hex = "a".repeat(64);
        let digest = format!("blake3:{hex}");
        let found = find_success(&store, &trust, "calc", "build", &digest).unwrap();
        assert_eq!(found.found.unwrap().id, id(4), "the latest success");
        let other = format!("blake3:{}", "b".repeat(64));
        let none = find_success(&store, &trust, "calc", "build", &other).unwrap();
        assert_eq!(none, Lookup::default());
    }

    #[test]
    fn runs_of_the_read_tiers_count_and_failures_are_never_found() {
        let dir = tempfile::tempdir().unwrap();
        let (own, main) = (dir.path().join("pr"), dir.path().join("main"));
        let trust = Trust::new(None, None);
        let old = record(T0, RunResult::Success, "a");
        write(&DirStore::new(main.clone()), &trust, &old).unwrap();
        let tiers = Tiered::new(
            Box::new(DirStore::new(own)),
            vec![ReadOnly::new(Box::new(DirStore::new(main)))],
        );
        let failed = record(T0 + 1, RunResult::Failure, "a");
        write(&tiers, &trust, &failed).unwrap();
        let all: Vec<String> = history(&tiers, "calc", "build", Window::default())
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(all, [failed.id.clone(), old.id.clone()]);
        let found = find_success(&tiers, &trust, "calc", "build", &old.total_digest).unwrap();
        assert_eq!(
            found.found.unwrap().id,
            old.id,
            "main's success, not the PR's failure"
        );
    }

    #[test]
    fn a_limit_pages_through_names_it_cannot_use() {
        // More unusable names than one page before the runs: the listing goes on.
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_path_buf());
        let prefix = history_prefix("calc", "build");
        for i in 0..1100 {
            store
                .put_bytes(&format!("{prefix}0{i:04}.junk"), b"", true)
                .unwrap();
        }
        let r = record(T0, RunResult::Success, "a");
        write(&store, &Trust::new(None, None), &r).unwrap();
        let w = Window {
            limit: Some(1),
            ..Default::default()
        };
        let got = history(&store, "calc", "build", w).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, r.id);
    }

    #[test]
    fn ids_sort_by_time_and_are_recognised() {
        let a = new_run_id(1_700_000_000_000_001).unwrap();
        let b = new_run_id(1_700_000_000_000_002).unwrap();
        assert!(a < b, "{a} {b}");
        assert!(a.starts_with("20231114T221320000001-"), "{a}");
        assert!(is_run_id(&a));
        assert!(!is_run_id("calc.build"));
        assert_eq!(clock::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(clock::rfc3339(951_782_400_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(start_of(&a), 1_700_000_000_000_001);
        assert_eq!(parse_time("2000-02-29").unwrap(), 951_782_400_000_000);
        assert_eq!(
            parse_time("2023-11-14T22:13:20").unwrap(),
            1_700_000_000_000_000
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(
            parse_time("2023.11.14-22:13").unwrap(),
            1_699_999_980_000_000
        );
    }
}
