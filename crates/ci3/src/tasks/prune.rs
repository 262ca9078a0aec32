//! Deleting the runs recorded before a date, as baur's `cleanup db` deletes old task runs: each
//! run's index names first (so no lookup finds a run whose record is going), then its record,
//! then the stored outputs no remaining run refers to.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{self, object_of, RunEntry};
use crate::store::{names, Store};
use crate::trust::Trust;
use crate::Result;

/// What a prune deleted, or would delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: usize,
    pub outputs: usize,
    /// Runs kept: started at or after the date.
    pub kept: usize,
}

/// Deletes (with `dry_run`, only counts) every run that started before `before_us` (Unix
/// microseconds). An output object stays while any kept run's record names it; a kept record
/// that cannot be read keeps every output, since what it refers to is unknown.
pub fn prune(store: &dyn Store, before_us: u64, dry_run: bool) -> Result<Pruned> {
    // Records are read for the outputs they name, whoever signed them: deleting is decided by
    // the date, and an output any record names is kept.
    let anyone = Trust::default();
    let history = format!("{}history/", names::RUNS);
    let mut old: Vec<(String, RunEntry)> = Vec::new();
    let mut kept = Vec::new();
    for name in store.list(&history)? {
        let Some(entry) = records::entry_of_history_name(&name[history.len()..]) else {
            continue;
        };
        if entry.start_us() < before_us {
            old.push((name, entry));
        } else {
            kept.push(entry.id);
        }
    }
    let mut pruned = Pruned {
        kept: kept.len(),
        ..Pruned::default()
    };
    if old.is_empty() {
        return Ok(pruned);
    }
    let mut referenced = BTreeSet::new();
    let mut unreadable = false;
    for id in &kept {
        match records::load(store, &anyone, id) {
            Ok(Some(r)) => referenced.extend(r.outputs.iter().filter_map(|o| object_of(o).ok())),
            Ok(None) => {}
            Err(_) => unreadable = true,
        }
    }
    // The success names, by run id: `success/APP.TASK/DIGEST.LATER.RUN.COMMIT`.
    let success: BTreeMap<String, String> = store
        .list(&format!("{}success/", names::RUNS))?
        .into_iter()
        .filter_map(|n| Some((n.rsplit_once('/')?.1.split('.').nth(2)?.to_string(), n)))
        .collect();
    let mut orphans = BTreeSet::new();
    for (name, entry) in &old {
        if let Ok(Some(r)) = records::load(store, &anyone, &entry.id) {
            orphans.extend(r.outputs.iter().filter_map(|o| object_of(o).ok()));
        }
        pruned.runs += 1;
        if dry_run {
            continue;
        }
        if let Some(ok) = success.get(&entry.id) {
            store.delete(ok)?;
        }
        store.delete(name)?;
        store.delete(&records::record_name(&entry.id))?;
    }
    if !unreadable {
        for object in orphans.difference(&referenced) {
            if dry_run || store.delete(object)? {
                pruned.outputs += 1;
            }
        }
    }
    Ok(pruned)
}
