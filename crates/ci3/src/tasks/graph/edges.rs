//! Which task depends on which: file inputs matched against the paths `File` outputs write,
//! and `TaskInfos` references.

use std::collections::{BTreeSet, HashMap, HashSet};

use globset::{GlobSet, GlobSetBuilder};

use crate::tasks::config::paths::join;
use crate::tasks::config::TaskRef;
use crate::tasks::inputs::globs::{glob, is_glob};
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

/// Paths and globs: a path is compared as it is, since compiling a glob set for each of
/// hundreds of tasks would cost more than the rest of the graph.
struct Patterns {
    paths: HashSet<String>,
    globs: Option<GlobSet>,
}

impl Patterns {
    fn is_match(&self, path: &str) -> bool {
        self.paths.contains(path) || self.globs.as_ref().is_some_and(|g| g.is_match(path))
    }
}

fn set<'s>(patterns: impl Iterator<Item = &'s String>) -> Result<Patterns> {
    let mut paths = HashSet::new();
    let mut b = GlobSetBuilder::new();
    let mut globs = 0;
    for p in patterns {
        let p = p.trim_start_matches("./");
        if is_glob(p) {
            b.add(glob(p)?.glob().clone());
            globs += 1;
        } else {
            paths.insert(p.to_string());
        }
    }
    let globs = match globs {
        0 => None,
        _ => Some(b.build().map_err(|e| Error::failed(e.to_string()))?),
    };
    Ok(Patterns { paths, globs })
}
