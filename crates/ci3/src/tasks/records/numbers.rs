//! baur's integer run ids as aliases of ours: run N is the Nth run recorded in the store.
//!
//! baur numbers runs with its database's serial ids, given when a run is saved, after its
//! command and uploads. Without a database the nearest order is the one runs ended in: the
//! history names hold each run's start (its id) and duration, so one listing of `history/`
//! numbers every run, oldest end first (ties by id). A number stays with its run until a run that
//! ended earlier is recorded later (two runners finishing within an upload of each other) or
//! `task_gc` deletes older runs: then the numbers after it move.

use std::collections::HashMap;

use super::names::history_root;
use super::{entry_of_history_name, is_run_id};
use crate::store::Store;
use crate::Result;

/// Every run of the store with a history name, in the order they ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbering {
    ids: Vec<String>,
    numbers: HashMap<String, u64>,
}

impl Numbering {
    /// Numbers every run recorded in `store` (one listing of the history names; with
    /// `CI3_READ_STORES`, of every tier's, as the history listings see them).
    pub fn list(store: &dyn Store) -> Result<Numbering> {
        let root = history_root();
        let mut ended: Vec<(u64, String)> = store
            .list_sorted(&root, None, usize::MAX)?
            .iter()
            .filter_map(|name| entry_of_history_name(&name[root.len()..]))
            .map(|e| (e.start_us().saturating_add(e.duration_us), e.id))
            .collect();
        ended.sort();
        ended.dedup_by(|a, b| a.1 == b.1);
        let ids: Vec<String> = ended.into_iter().map(|(_, id)| id).collect();
        let numbers = (1..).zip(&ids).map(|(n, id)| (id.clone(), n)).collect();
        Ok(Numbering { ids, numbers })
    }

    /// The number of run `id`, from 1.
    pub fn number_of(&self, id: &str) -> Option<u64> {
        self.numbers.get(id).copied()
    }

    /// The run numbered `n`.
    pub fn id_of(&self, n: u64) -> Option<&str> {
        let i = usize::try_from(n.checked_sub(1)?).ok()?;
        self.ids.get(i).map(String::as_str)
    }
}

/// Whether `s` is a run number as baur writes its ids: decimal digits.
pub fn is_run_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` names a run: one of our run ids or a baur run number.
pub fn is_run_ref(s: &str) -> bool {
    is_run_id(s) || is_run_number(s)
}

/// The run id `arg` names: a run id as it is, a number as [`Numbering`] maps it (a `Miss` in
/// baur's words when there is no such run).
pub fn resolve(store: &dyn Store, arg: &str) -> Result<String> {
    if !is_run_number(arg) {
        return Ok(arg.to_string());
    }
    let n: u64 = arg
        .parse()
        .map_err(|_| crate::err!(Usage, "{arg}: not a run number"))?;
    Numbering::list(store)?
        .id_of(n)
        .map(str::to_string)
        .ok_or_else(|| crate::err!(Miss, "task run with ID {n} does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DirStore, ReadOnly, Tiered};
    use crate::tasks::records::{sample, write, Record};
    use crate::trust::Trust;

    fn record(start_us: u64, took_us: u64) -> Record {
        Record {
            stop_us: start_us + took_us,
            ..sample(start_us)
        }
    }

    #[test]
    fn runs_are_numbered_in_the_order_they_ended() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().to_path_buf());
        let t0 = 1_700_000_000_000_000;
        // The long run started first and ended last: baur saved it last.
        let long = record(t0, 60_000_000);
        let short = record(t0 + 1_000_000, 2_000_000);
        for r in [&long, &short] {
            write(&store, &Trust::new(None, None), r).unwrap();
        }
        let n = Numbering::list(&store).unwrap();
        assert_eq!(n.number_of(&short.id), Some(1));
        assert_eq!(n.number_of(&long.id), Some(2));
        assert_eq!(n.id_of(2), Some(long.id.as_str()));
        assert_eq!((n.id_of(0), n.id_of(3)), (None, None));
        assert_eq!(resolve(&store, "1").unwrap(), short.id);
        assert_eq!(resolve(&store, &long.id).unwrap(), long.id);
        assert_eq!(
            resolve(&store, "3").unwrap_err().to_string(),
            "task run with ID 3 does not exist"
        );
        assert!(is_run_ref("12") && is_run_ref(&long.id) && !is_run_ref("calc.build"));
        // The runs of a read tier are numbered with the store's own.
        let own = tempfile::tempdir().unwrap();
        let tiers = Tiered::new(
            Box::new(DirStore::new(own.path().to_path_buf())),
            vec![ReadOnly::new(Box::new(store))],
        );
        let late = record(t0 + 5_000_000, 1);
        write(&tiers, &Trust::new(None, None), &late).unwrap();
        let n = Numbering::list(&tiers).unwrap();
        assert_eq!(n.number_of(&late.id), Some(2));
        assert_eq!(n.number_of(&long.id), Some(3));
        assert!(!is_run_number("") && !is_run_number("1a"));
    }
}
