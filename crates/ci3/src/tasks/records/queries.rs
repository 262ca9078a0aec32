//! Questions asked of the run records: the latest success with a digest, a task's history in a
//! window (of several tasks at once), and one run's record.

use super::names::{
    history_prefix, later_first, ok_prefix, parse_entry, record_name, success_entry,
};
use super::{is_run_id, tiers, Found, Lookup, Record, RunEntry, Window};
use crate::digest::Digest;
use crate::store::Store;
use crate::trust::Trust;
use crate::{Kind, Result, ResultExt};

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
    digest: &Digest,
) -> Result<Lookup> {
    let prefix = ok_prefix(app, task, digest);
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
                    Err(e) => lookup.refused.push(e.to_string()),
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

/// The record of run `id`, which must exist: a `Miss` saying so when it does not.
pub fn require(store: &dyn Store, trust: &Trust, id: &str) -> Result<Record> {
    load(store, trust, id)?.ok_or_else(|| crate::err!(Miss, "task-run {id} does not exist"))
}

/// The record of a run, `None` when there is none with this id; an error for a record the
/// trusted keys did not sign.
pub fn load(store: &dyn Store, trust: &Trust, id: &str) -> Result<Option<Record>> {
    if !is_run_id(id) {
        crate::fail!(Usage, "{id}: not a run id");
    }
    let name = record_name(id);
    let mut buf = Vec::new();
    if !store.get(&name, &mut buf)? {
        return Ok(None);
    }
    let body = match trust.verify_bytes(&name, &buf) {
        Ok(body) => body,
        Err(e) if e.kind() == Kind::Untrusted => {
            crate::fail!(Untrusted, "run record {id} is not trusted, ignored: {e}")
        }
        Err(e) => return Err(e),
    };
    let r: Record =
        serde_json::from_slice(body).with_context(|| format!("run record {id} is corrupt"))?;
    if r.id != id {
        crate::fail!(Corrupt, "run record {id} holds run {}", r.id);
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
            crate::fail!(
                Untrusted,
                "run record {id} is a run of {}.{}, not of {app}.{task}",
                r.app,
                r.task
            )
        }
        found => Ok(found),
    }
}

/// Every success name of the store from one listing, for the status of many tasks at once: on
/// S3 one listing of a few pages costs less than a request per task.
pub struct SuccessIndex {
    /// `APP.TASK/DIGEST.` -> the latest success with that digest.
    latest: std::collections::HashMap<String, Found>,
}

/// How many success names one listing for [`success_index`] reads before it gives up (the
/// tasks are then looked up one by one).
const INDEX_NAMES: usize = 5000;

impl SuccessIndex {
    /// The latest successful run of the task with this digest, as [`find_success`] finds it
    /// without trusted keys.
    pub fn get(&self, app: &str, task: &str, digest: &Digest) -> Option<Found> {
        let prefix = ok_prefix(app, task, digest);
        let key = prefix.strip_prefix(&success_root())?;
        self.latest.get(key).cloned()
    }
}

fn success_root() -> String {
    format!("{}success/", crate::store::names::RUNS)
}

/// The success names of the store, read in one listing of at most [`INDEX_NAMES`] names;
/// `None` when there are more, or when records must be read (trusted keys): then each task is
/// looked up with [`find_success`].
pub fn success_index(store: &dyn Store, trust: &Trust) -> Result<Option<SuccessIndex>> {
    if trust.checks() {
        return Ok(None);
    }
    let root = success_root();
    let names = store.list_sorted(&root, None, INDEX_NAMES)?;
    if names.len() >= INDEX_NAMES {
        return Ok(None);
    }
    let mut latest = std::collections::HashMap::new();
    for name in &names {
        let Some(rest) = name.strip_prefix(&root) else {
            continue;
        };
        // `APP.TASK/DIGEST.LATER.RUN.COMMIT`: names sort newest first within a digest.
        let Some((task, after)) = rest.split_once('/') else {
            continue;
        };
        let Some((digest, entry)) = after.split_once('.') else {
            continue;
        };
        let Some(found) = success_entry(entry) else {
            continue;
        };
        latest.entry(format!("{task}/{digest}.")).or_insert(found);
    }
    Ok(Some(SuccessIndex { latest }))
}
