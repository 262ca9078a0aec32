//! Deleting the runs recorded before a date, as baur's `cleanup db` deletes old task runs: each
//! run's index names first (so no lookup finds a run whose record is going), then its record,
//! then every stored output no kept record names.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{self, object_of};
use crate::store::{names, Store};
use crate::trust::Trust;
use crate::{Kind, Result};

/// What a prune deleted, or would delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: usize,
    pub outputs: usize,
    /// Runs kept: started at or after the date.
    pub kept: usize,
    /// One line per kept record that could not be read (corrupt, or signed by no trusted key),
    /// kept as it is: what it names is unknown, and no lookup can use it either.
    pub unreadable: Vec<String>,
}

/// Deletes (with `dry_run`, only counts) every run that started before `before_us` (Unix
/// microseconds), and every stored output no kept record names: those of the deleted runs, and
/// those of runs whose record was never written. A kept record that is corrupt or untrusted
/// protects nothing (a restore cannot read it either) and is reported; a store that fails to
/// answer stops the prune before anything is deleted.
pub fn prune(store: &dyn Store, before_us: u64, dry_run: bool) -> Result<Pruned> {
    // Records are read for the outputs they name, whoever signed them: deleting is decided by
    // the date, and an output any readable record names is kept.
    let anyone = Trust::default();
    let history = format!("{}history/", names::RUNS);
    let mut old: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut kept = BTreeSet::new();
    for name in store.list(&history)? {
        let Some(entry) = records::entry_of_history_name(&name[history.len()..]) else {
            continue;
        };
        if entry.start_us() < before_us {
            old.entry(entry.id).or_default().push(name);
        } else {
            kept.insert(entry.id);
        }
    }
    // A record whose names were never written is a run all the same.
    let ids = format!("{}id/", names::RUNS);
    for name in store.list(&ids)? {
        let Some(id) = name[ids.len()..].strip_suffix(".json") else {
            continue;
        };
        if !records::is_run_id(id) {
            continue;
        }
        if records::start_of(id) < before_us {
            old.entry(id.to_string()).or_default();
        } else {
            kept.insert(id.to_string());
        }
    }
    let mut pruned = Pruned {
        kept: kept.len(),
        runs: old.len(),
        ..Pruned::default()
    };
    let mut referenced = BTreeSet::new();
    for id in &kept {
        match records::load(store, &anyone, id) {
            Ok(Some(r)) => referenced.extend(r.outputs.iter().filter_map(|o| object_of(o).ok())),
            Ok(None) => {}
            Err(e) if matches!(e.kind(), Kind::Corrupt | Kind::Untrusted) => {
                pruned
                    .unreadable
                    .push(format!("kept, but it names no output: {e}"));
            }
            Err(e) => return Err(e.context(format!("cannot read run record {id}"))),
        }
    }
    let outputs = format!("{}outputs/", names::RUNS);
    let orphans: Vec<String> = store
        .list(&outputs)?
        .into_iter()
        .filter(|o| !referenced.contains(o))
        .collect();
    if dry_run {
        pruned.outputs = orphans.len();
        return Ok(pruned);
    }
    // The success names, by run id: `success/APP.TASK/DIGEST.LATER.RUN.COMMIT`.
    let success: BTreeMap<String, String> = store
        .list(&format!("{}success/", names::RUNS))?
        .into_iter()
        .filter_map(|n| Some((n.rsplit_once('/')?.1.split('.').nth(2)?.to_string(), n)))
        .collect();
    for (id, history_names) in &old {
        if let Some(ok) = success.get(id) {
            store.delete(ok)?;
        }
        for name in history_names {
            store.delete(name)?;
        }
        store.delete(&records::record_name(id))?;
    }
    for object in &orphans {
        if store.delete(object)? {
            pruned.outputs += 1;
        }
    }
    Ok(pruned)
}
