//! The layout of run records in the store, under the prefix the store's naming module reserves:
//! one object per record, and the index names that find runs without reading records.

use super::{is_run_id, Found, Record, RunEntry, RunResult};
use crate::digest::Digest;
use crate::store::names;

/// The object holding the record of run `id`.
pub fn record_name(id: &str) -> String {
    format!("{}id/{id}.json", names::RUNS)
}

/// The prefix of every task's history names.
pub(super) fn history_root() -> String {
    format!("{}history/", names::RUNS)
}

pub(super) fn history_prefix(app: &str, task: &str) -> String {
    format!("{}{app}.{task}/", history_root())
}

pub(super) fn ok_prefix(app: &str, task: &str, digest: &Digest) -> String {
    format!("{}success/{app}.{task}/{}.", names::RUNS, digest.to_hex())
}

/// A time far enough ahead (year 5138) that every start counted down from it has 17 digits.
const FAR_FUTURE_US: u64 = 99_999_999_999_999_999;

/// The part of an index name that makes later runs sort first.
pub(super) fn later_first(start_us: u64) -> String {
    format!("{:017}", FAR_FUTURE_US.saturating_sub(start_us))
}

/// `LATER.REST` -> `REST`, for a well-formed `LATER`.
pub(super) fn strip_later(name: &str) -> Option<&str> {
    let (later, rest) = name.split_once('.')?;
    (later.len() == 17 && later.bytes().all(|b| b.is_ascii_digit())).then_some(rest)
}

/// The history name of a run: `history/APP.TASK/LATER.RUN.RESULT.DIGEST.DURATION`.
pub(super) fn history_name(r: &Record) -> String {
    format!(
        "{}{}.{}.{}.{}.{}",
        history_prefix(&r.app, &r.task),
        later_first(super::start_of(&r.id)),
        r.id,
        r.result.word(),
        r.total_digest.to_hex(),
        r.stop_us.saturating_sub(r.start_us)
    )
}

/// The success name of a run: `success/APP.TASK/DIGEST.LATER.RUN.COMMIT`.
pub(super) fn success_name(r: &Record) -> String {
    format!(
        "{}{}.{}.{}",
        ok_prefix(&r.app, &r.task, &r.total_digest),
        later_first(super::start_of(&r.id)),
        r.id,
        r.git_commit.as_deref().unwrap_or("none")
    )
}

/// `LATER.RUN.COMMIT` -> the run.
pub(super) fn success_entry(name: &str) -> Option<Found> {
    let (id, commit) = strip_later(name)?.split_once('.')?;
    is_run_id(id).then(|| Found {
        id: id.to_string(),
        git_commit: (commit != "none").then(|| commit.to_string()),
    })
}

/// The run a history name (below `history/`, `APP.TASK/LATER.RUN...`) stands for.
pub fn entry_of_history_name(name: &str) -> Option<RunEntry> {
    parse_entry(name.rsplit_once('/')?.1)
}

/// `LATER.RUN.RESULT.DIGEST.DURATION` -> the run.
pub(super) fn parse_entry(name: &str) -> Option<RunEntry> {
    let mut parts = strip_later(name)?.split('.');
    let id = parts.next()?;
    let result = match parts.next()? {
        "success" => RunResult::Success,
        "failure" => RunResult::Failure,
        _ => return None,
    };
    let total_digest = Digest::from_hex(parts.next()?)?;
    let duration_us = parts.next()?.parse().ok()?;
    is_run_id(id).then(|| RunEntry {
        id: id.to_string(),
        result,
        total_digest,
        duration_us,
    })
}
