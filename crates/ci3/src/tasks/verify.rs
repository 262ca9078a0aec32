//! The reproducibility check: successful runs of a task with the same total input digest whose
//! outputs have different digests (a build that is not reproducible, or inputs that are
//! incomplete). Only the records of runs that share a digest are read.

use std::collections::BTreeMap;

use super::config::TaskRef;
use super::records::{self, OutputName, RunResult, Window};
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

/// What the check found for one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub task: String,
    /// Files that differ: the issues.
    pub issues: Vec<Issue>,
    /// Docker images that differ: never reproducible (image ids change with every build), so
    /// reported apart and not counted.
    pub docker: Vec<Issue>,
}

/// Checks the successful runs of `tasks` started at or after `from_us` (Unix microseconds);
/// a record that cannot be read is said on `reporter` and left out.
pub fn verify(
    store: &dyn Store,
    trust: &Trust,
    tasks: &[TaskRef<'_>],
    from_us: u64,
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
        };
        for (digest, ids) in groups.iter().filter(|(_, ids)| ids.len() > 1) {
            let mut runs = Vec::new();
            for id in ids {
                match records::load_of(store, trust, app, task, id) {
                    Ok(Some(r)) => runs.push(r),
                    Ok(None) => {
                        reporter.note(&format!("run {id}: named but its record is missing"))
                    }
                    Err(e) => reporter.note(&e.to_string()),
                }
            }
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
