//! Which task depends on which: file inputs matched against the paths `File` outputs write,
//! and `TaskInfos` references.

use std::collections::{BTreeSet, HashMap};

use globset::{GlobSet, GlobSetBuilder};

use crate::tasks::config::paths::join;
use crate::tasks::config::TaskRef;
use crate::tasks::inputs::globs::glob;
use crate::{Error, Result};

/// For each task the tasks it depends on, and every path an output writes (relative to the root).
pub(super) fn infer(
    tasks: &[TaskRef<'_>],
    index: &HashMap<String, usize>,
) -> Result<(Vec<Vec<usize>>, Vec<String>)> {
    // Output paths, relative to the root, with the task writing them.
    let mut writes: Vec<(String, usize)> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        for o in &t.task.outputs.files {
            if let Some(p) = join(&t.app.dir, &o.path) {
                writes.push((p, i));
            }
        }
    }
    let mut upstream = Vec::with_capacity(tasks.len());
    for (b, t) in tasks.iter().enumerate() {
        let mut ups = BTreeSet::new();
        let inputs = set(t.task.inputs.files.iter().flat_map(|f| f.paths.iter()))?;
        let excluded = set(t.task.inputs.excluded.iter())?;
        for (path, a) in &writes {
            // A task reading what it writes itself (`**` over its own app dir) is no edge.
            if *a != b && inputs.is_match(path) && !excluded.is_match(path) {
                ups.insert(*a);
            }
        }
        for info in &t.task.inputs.task_infos {
            if let Some(&a) = index.get(&format!("{}.{}", t.app.name, info.task_name)) {
                ups.insert(a);
            }
        }
        upstream.push(ups.into_iter().collect());
    }
    let mut produced: Vec<String> = writes.into_iter().map(|(p, _)| p).collect();
    produced.sort();
    produced.dedup();
    Ok((upstream, produced))
}

fn set<'s>(patterns: impl Iterator<Item = &'s String>) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim_start_matches("./");
        b.add(glob(p)?.glob().clone());
    }
    b.build().map_err(|e| Error::failed(e.to_string()))
}
