//! Run records in the store, under the prefix the store's naming module reserves for them.
//!
//! One run writes, each create-only and so never overwritten:
//! - `runs/id/RUN.json`: the record itself, complete or absent;
//! - `runs/task/APP.TASK/RUN.RESULT.DIGEST`: the task's history, read by one prefix listing;
//! - `runs/ok/APP.TASK/DIGEST.RUN.COMMIT`, for a success only: "is there a successful run with
//!   this digest" is one listing of a prefix that holds nothing else.
//!
//! Run ids start with the UTC time to the microsecond and end with random bits, so they sort by
//! time and two machines sharing a bucket never pick the same one.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::inputs::Input;
use crate::store::{names, Put, Store};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    Success,
    Failure,
}

impl RunResult {
    fn word(self) -> &'static str {
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
    /// Every place it was stored or uploaded to, as URIs.
    pub uploads: Vec<String>,
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

/// A run as a listing of the task's history shows it, without reading the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntry {
    pub id: String,
    pub result: RunResult,
    /// `blake3:<hex>`.
    pub total_digest: String,
}

/// A successful run found by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub git_commit: Option<String>,
}

/// Microseconds since the epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A new run id for a run that starts at `start_us`: `YYYYMMDDTHHMMSSffffff-RANDOM`.
pub fn new_run_id(start_us: u64) -> Result<String> {
    let mut random = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .context("cannot read /dev/urandom")?;
    Ok(format!(
        "{}{:06}-{}",
        utc_compact(start_us / 1_000_000),
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

fn record_name(id: &str) -> String {
    format!("{}id/{id}.json", names::RUNS)
}

fn history_prefix(app: &str, task: &str) -> String {
    format!("{}task/{app}.{task}/", names::RUNS)
}

fn ok_prefix(app: &str, task: &str, digest_hex: &str) -> String {
    format!("{}ok/{app}.{task}/{digest_hex}.", names::RUNS)
}

/// Stores a run: the record first, then the names that make it found. A run whose record was
/// written but not its names is only never matched, which runs it again: nothing is lost.
pub fn write(store: &dyn Store, r: &Record) -> Result<()> {
    let hex = hex_of(&r.total_digest)?;
    let json = serde_json::to_vec_pretty(r)?;
    if store.put_bytes(&record_name(&r.id), &json, true)? == Put::AlreadyExists {
        bail!("run record {} already exists", r.id);
    }
    // The names below hold the run id, which no other runner picks: one found already there
    // is this run's own write, answered by a retry after a lost response.
    store.put_bytes(
        &format!(
            "{}{}.{}.{hex}",
            history_prefix(&r.app, &r.task),
            r.id,
            r.result.word()
        ),
        r.id.as_bytes(),
        true,
    )?;
    if r.result == RunResult::Success {
        let commit = r.git_commit.as_deref().unwrap_or("none");
        store.put_bytes(
            &format!("{}{}.{commit}", ok_prefix(&r.app, &r.task, hex), r.id),
            r.id.as_bytes(),
            true,
        )?;
    }
    Ok(())
}

/// The latest successful run of the task with this digest.
pub fn find_success(
    store: &dyn Store,
    app: &str,
    task: &str,
    digest: &str,
) -> Result<Option<Found>> {
    let prefix = ok_prefix(app, task, hex_of(digest)?);
    let names = store.list(&prefix)?;
    Ok(names
        .iter()
        .filter_map(|n| {
            let (id, commit) = n.strip_prefix(&prefix)?.split_once('.')?;
            is_run_id(id).then(|| Found {
                id: id.to_string(),
                git_commit: (commit != "none").then(|| commit.to_string()),
            })
        })
        .max_by(|a, b| a.id.cmp(&b.id)))
}

/// Every run of the task, oldest first.
pub fn history(store: &dyn Store, app: &str, task: &str) -> Result<Vec<RunEntry>> {
    let prefix = history_prefix(app, task);
    let mut out: Vec<RunEntry> = store
        .list(&prefix)?
        .iter()
        .filter_map(|n| {
            let mut parts = n.strip_prefix(&prefix)?.split('.');
            let id = parts.next()?;
            let result = match parts.next()? {
                "success" => RunResult::Success,
                "failure" => RunResult::Failure,
                _ => return None,
            };
            let hex = parts.next()?;
            is_run_id(id).then(|| RunEntry {
                id: id.to_string(),
                result,
                total_digest: format!("blake3:{hex}"),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The record of a run, `None` when there is none with this id.
pub fn load(store: &dyn Store, id: &str) -> Result<Option<Record>> {
    if !is_run_id(id) {
        bail!("{id}: not a run id");
    }
    let mut buf = Vec::new();
    if !store.get(&record_name(id), &mut buf)? {
        return Ok(None);
    }
    let r = serde_json::from_slice(&buf).with_context(|| format!("run record {id} is corrupt"))?;
    Ok(Some(r))
}

/// `YYYYMMDDTHHMMSS` of a Unix time, UTC.
fn utc_compact(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}")
}

/// RFC 3339 of a time in microseconds, UTC, to the second.
pub fn rfc3339(us: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(us / 1_000_000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Calendar date and time of a Unix time (days to civil date, proleptic Gregorian).
fn civil(secs: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y as u64,
        m as u64,
        d as u64,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_recognised() {
        let a = new_run_id(1_700_000_000_000_001).unwrap();
        let b = new_run_id(1_700_000_000_000_002).unwrap();
        assert!(a < b, "{a} {b}");
        assert!(a.starts_with("20231114T221320000001-"), "{a}");
        assert!(is_run_id(&a));
        assert!(!is_run_id("calc.build"));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000_000), "2000-02-29T00:00:00Z");
    }
}
