//! The outputs an upstream task's recorded run produced, as inputs of the tasks downstream of
//! it, for those of them absent from the work tree (a fresh clone): read from the run's record
//! and the stored objects, so that status needs neither to restore nor to run anything.

use std::path::Path;

use crate::digest::Digest;
use crate::git::blob_id_of_reader;
use crate::store::Store;
use crate::tasks::config::paths::join;
use crate::tasks::config::TaskRef;
use crate::tasks::inputs::{file_input, Input};
use crate::tasks::records::{self, output_object, OutputDigest, OutputName};
use crate::trust::Trust;
use crate::Result;

/// The `File` outputs of `task` absent under `root`, as the run `run_id` recorded them; empty
/// when none is absent (the record is then not read). An output whose record or stored object
/// is missing, or whose object does not hold the recorded bytes, is left out: the task reading
/// it stays Pending.
pub(super) fn absent_outputs(
    store: &dyn Store,
    trust: &Trust,
    root: &Path,
    task: TaskRef<'_>,
    run_id: &str,
) -> Result<Vec<Input>> {
    let absent = |rel: &str| !root.join(rel).exists();
    let any_absent = task
        .task
        .outputs
        .files
        .iter()
        .filter_map(|o| join(&task.app.dir, &o.path))
        .any(|rel| absent(&rel));
    if !any_absent {
        return Ok(Vec::new());
    }
    let Some(record) = records::load(store, trust, run_id)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for o in &record.outputs {
        let (OutputName::File(path), OutputDigest::Blake3(d)) = (&o.name, &o.digest) else {
            continue;
        };
        let Some(rel) = join(&record.app_dir, path) else {
            continue;
        };
        if !absent(&rel) {
            continue;
        }
        let mut bytes = Vec::new();
        if !store.get(&output_object(d), &mut bytes)? || Digest::of(&bytes) != *d {
            continue;
        }
        let id = blob_id_of_reader(&bytes[..], bytes.len() as u64)
            .map_err(|e| crate::err!(Failed, "cannot hash the stored output {rel}: {e}"))?;
        let exec = o.mode.is_some_and(|m| m & 0o100 != 0);
        out.push(file_input(&rel, "", exec, &id.to_string()));
    }
    Ok(out)
}
