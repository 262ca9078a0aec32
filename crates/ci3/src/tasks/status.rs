//! Whether each task has to run: its total input digest looked up among the recorded
//! successful runs, for many tasks at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::config::TaskRef;
use super::inputs::{string_input, total_digest, InputKind, Resolved, Resolver};
use super::records::{self, Found, Lookup, SuccessIndex};
use crate::report::Reporter;
use crate::store::Store;
use crate::trust::Trust;
use crate::Result;

/// From how many tasks their status is looked up in one listing of every success name.
const INDEX_FROM: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A successful run with this digest is recorded.
    Exist,
    /// None is.
    Pending,
    /// The task declares no inputs: it always runs.
    InputsUndefined,
}

impl Status {
    /// As the original prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Exist => "Exist",
            Status::Pending => "Pending",
            Status::InputsUndefined => "Inputs Undefined",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub struct TaskStatus<'a> {
    pub task: TaskRef<'a>,
    pub status: Status,
    pub resolved: Resolved,
    /// The run that makes it `Exist`.
    pub run: Option<Found>,
    /// Why runs whose names matched were not taken (records the trusted keys did not sign).
    pub refused: Vec<String>,
    /// The tasks upstream in the graph that are not `Exist` (what makes this one Pending).
    pub waits_on: Vec<String>,
}

/// The inputs with every input string replaced by `s`.
pub fn with_lookup_string(r: &Resolved, s: &str) -> Resolved {
    let mut inputs: Vec<_> = r
        .inputs
        .iter()
        .filter(|i| i.kind != InputKind::String)
        .cloned()
        .collect();
    inputs.push(string_input(s));
    Resolved {
        total: total_digest(&inputs),
        inputs,
    }
}

/// The status of every task, in the given order, each run a trusted reader refuses said to
/// `reporter` (`ID: why`). Tasks are resolved and looked up on several threads: against S3 each
/// lookup is a round trip.
pub fn evaluate<'a>(
    resolver: &Resolver<'_>,
    store: &dyn Store,
    trust: &Trust,
    tasks: &[TaskRef<'a>],
    lookup_input_str: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Vec<TaskStatus<'a>>> {
    // Many tasks: one listing of every success name instead of a request per task.
    let index = if tasks.len() >= INDEX_FROM {
        records::success_index(store, trust)?
    } else {
        None
    };
    let index = index.as_ref();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<TaskStatus<'a>>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    let workers = tasks.len().clamp(1, 16);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&task) = tasks.get(i) else { break };
                let r = one(resolver, store, trust, task, lookup_input_str, index);
                let failed = r.is_err();
                results.lock().expect("status")[i] = Some(r);
                if failed {
                    next.store(tasks.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(tasks.len());
    for r in results.into_inner().expect("status") {
        match r {
            Some(r) => out.push(r?),
            None => continue,
        }
    }
    for s in &out {
        for why in &s.refused {
            reporter.note(&format!("{}: {why}", s.task.id()));
        }
    }
    Ok(out)
}

pub(crate) fn one<'a>(
    resolver: &Resolver<'_>,
    store: &dyn Store,
    trust: &Trust,
    task: TaskRef<'a>,
    lookup_input_str: Option<&str>,
    index: Option<&SuccessIndex>,
) -> Result<TaskStatus<'a>> {
    let resolved = resolver.resolve(task)?;
    if !task.task.declares_inputs() {
        return Ok(TaskStatus {
            task,
            status: Status::InputsUndefined,
            resolved,
            run: None,
            refused: Vec::new(),
            waits_on: Vec::new(),
        });
    }
    let (app, name) = (&task.app.name, &task.task.name);
    let find = |digest: &crate::digest::Digest| match index {
        Some(ix) => Ok(Lookup {
            found: ix.get(app, name, digest),
            refused: Vec::new(),
        }),
        None => records::find_success(store, trust, app, name, digest),
    };
    let mut lookup = find(&resolved.total).map_err(|e| e.context(task.id()))?;
    if lookup.found.is_none() {
        if let Some(s) = lookup_input_str {
            let alt = with_lookup_string(&resolved, s);
            let again = find(&alt.total)?;
            lookup.found = again.found;
            lookup.refused.extend(again.refused);
        }
    }
    let run = lookup.found;
    Ok(TaskStatus {
        task,
        status: if run.is_some() {
            Status::Exist
        } else {
            Status::Pending
        },
        resolved,
        run,
        refused: lookup.refused,
        waits_on: Vec::new(),
    })
}
