//! The reproducibility check: successful runs of a task with the same total input digest whose
//! outputs have different digests (a build that is not reproducible, or inputs that are
//! incomplete). Only the records of runs that share a digest are read, unless outputs are
//! checked too: then every successful run's record is read, and each of its file outputs looked
//! up in the store (a run whose output or record is gone still makes its task `Exist`, by name,
//! but cannot be restored).

use std::collections::BTreeMap;

use super::config::TaskRef;
use super::records::{self, object_of, OutputName, Record, RunResult, Window};
use crate::digest::Digest;
use crate::report::Reporter;
use crate::store::Store;
use crate::trust::Trust;
use crate::Result;

/// Two runs with the same inputs whose output differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The oldest run with these inputs, the one the others are compared with.
    pub reference: String,
    pub run: String,
    pub inputs: Digest,
    pub output: OutputName,
    /// The output's digest in the reference run, then in `run`.
    pub digests: (String, String),
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "- runs {} and {} have the same inputs ({}), but the digest of output {} differs ({} and {})",
            self.reference,
            self.run,
            self.inputs.prefixed(),
            self.output,
            self.digests.0,
            self.digests.1
        )
    }
}

/// A recorded successful run that cannot be restored: its record, or a file output's object,
/// is gone from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub run: String,
    /// The output whose object is gone; `None` when the record itself is.
    pub output: Option<OutputName>,
    /// The object that is gone.
    pub object: String,
}

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.output {
            Some(o) => write!(
                f,
                "- run {}: output {o} is gone from the store ({})",
                self.run, self.object
            ),
            None => write!(
                f,
                "- run {}: its record is gone from the store ({})",
                self.run, self.object
            ),
        }
    }
}

/// What the check found for one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub task: String,
    /// Files that differ: the issues.
    pub issues: Vec<Issue>,
    /// Docker images that differ: never reproducible (image ids change with every build), so
    /// reported apart and not counted.
    pub docker: Vec<Issue>,
    /// Successful runs whose record or outputs are gone (only when outputs are checked).
    pub gone: Vec<Gone>,
}

/// Checks the successful runs of `tasks` started at or after `from_us` (Unix microseconds),
/// and with `check_outputs` that their records and file outputs are still in the store; a
/// record that cannot be read (but is there) is said on `reporter` and left out.
pub fn verify(
    store: &dyn Store,
    trust: &Trust,
    tasks: &[TaskRef<'_>],
    from_us: u64,
    check_outputs: bool,
    reporter: &dyn Reporter,
) -> Result<Vec<Verdict>> {
    let mut out = Vec::new();
    for t in tasks {
        let (app, task) = (&t.app.name, &t.task.name);
        let mut groups: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
        // `from` is inclusive; the oldest run of a group is the one the others are compared with.
        let window = Window {
            after: Some(from_us.saturating_sub(1)),
            ..Default::default()
        };
        for r in records::history(store, app, task, window)?
            .into_iter()
            .rev()
        {
            if r.result == RunResult::Success {
                groups.entry(r.total_digest).or_default().push(r.id);
            }
        }
        let mut verdict = Verdict {
            task: t.id(),
            issues: Vec::new(),
            docker: Vec::new(),
            gone: Vec::new(),
        };
        // Each record is read once, or not at all when nothing asks for it.
        let mut loaded: BTreeMap<String, Option<Record>> = BTreeMap::new();
        let mut load = |id: &str| -> Option<Record> {
            loaded
                .entry(id.to_string())
                .or_insert_with(|| match records::load_of(store, trust, app, task, id) {
                    Ok(Some(r)) => Some(r),
                    Ok(None) => {
                        reporter.note(&format!("run {id}: named but its record is missing"));
                        None
                    }
                    Err(e) => {
                        reporter.note(&e.to_string());
                        None
                    }
                })
                .clone()
        };
        if check_outputs {
            for id in groups.values().flatten() {
                verdict.gone.extend(gone(store, id, load(id).as_ref())?);
            }
            verdict.gone.sort_by(|a, b| b.run.cmp(&a.run));
        }
        for (digest, ids) in groups.iter().filter(|(_, ids)| ids.len() > 1) {
            let runs: Vec<Record> = ids.iter().filter_map(|id| load(id)).collect();
            let Some((reference, rest)) = runs.split_first() else {
                continue;
            };
            for r in rest {
                for o in &r.outputs {
                    let Some(ro) = reference.outputs.iter().find(|x| x.name == o.name) else {
                        continue;
                    };
                    if ro.digest == o.digest {
                        continue;
                    }
                    let issue = Issue {
                        reference: reference.id.clone(),
                        run: r.id.clone(),
                        inputs: *digest,
                        output: o.name.clone(),
                        digests: (ro.digest.to_string(), o.digest.to_string()),
                    };
                    match o.name {
                        OutputName::Docker(_) => verdict.docker.push(issue),
                        OutputName::File(_) => verdict.issues.push(issue),
                    }
                }
            }
        }
        out.push(verdict);
    }
    Ok(out)
}

/// What of run `id` (its record as read, `None` when it could not be) is gone from the store.
fn gone(store: &dyn Store, id: &str, record: Option<&Record>) -> Result<Vec<Gone>> {
    let Some(record) = record else {
        let object = records::record_name(id);
        // A record that is there but unreadable or untrusted was said already; it is not gone.
        return Ok(if store.exists(&object)? {
            Vec::new()
        } else {
            vec![Gone {
                run: id.to_string(),
                output: None,
                object,
            }]
        });
    };
    let mut out = Vec::new();
    for o in &record.outputs {
        if matches!(o.name, OutputName::Docker(_)) {
            continue;
        }
        // A file output without a digest cannot be looked up; restore says so itself.
        let Ok(object) = object_of(o) else { continue };
        if !store.exists(&object)? {
            out.push(Gone {
                run: id.to_string(),
                output: Some(o.name.clone()),
                object,
            });
        }
    }
    Ok(out)
}
