//! Status through the graph: a task downstream of one that is not `Exist` is `Pending`, since
//! its inputs will change when that one runs, and says which tasks it waits on. A task whose
//! upstream tasks are all `Exist` is evaluated on the outputs their recorded runs produced when
//! those are absent from the work tree (a fresh clone): nothing changed, nothing to run.

use super::{recorded, Graph};
use crate::report::Reporter;
use crate::store::Store;
use crate::tasks::config::TaskRef;
use crate::tasks::inputs::Resolver;
use crate::tasks::status::{self, Status, TaskStatus};
use crate::trust::Trust;
use crate::Result;

/// The status of each of `selected` (in that order), evaluated with every task upstream of
/// them: resolved and looked up concurrently as [`status::evaluate`] does, then carried down
/// the graph, a task reading upstream outputs absent on disk looked up again on the outputs
/// the upstream runs recorded.
pub fn evaluate<'a>(
    resolver: &Resolver<'_>,
    store: &dyn Store,
    trust: &Trust,
    graph: &Graph<'a>,
    selected: &[TaskRef<'a>],
    lookup_input_str: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Vec<TaskStatus<'a>>> {
    resolver.expect_produced(&graph.produced);
    let closure = graph.with_upstream(selected);
    let refs: Vec<TaskRef<'a>> = closure.iter().map(|&i| graph.tasks[i]).collect();
    let found = status::evaluate(resolver, store, trust, &refs, lookup_input_str, reporter)?;
    let mut by_index: Vec<Option<TaskStatus<'a>>> = (0..graph.tasks.len()).map(|_| None).collect();
    for (i, s) in closure.iter().zip(found) {
        by_index[*i] = Some(s);
    }
    // For each task, whether outputs of its run were absent and are now assumed as recorded.
    let mut assumed: Vec<Option<bool>> = vec![None; graph.tasks.len()];
    for i in graph.ordered(&closure) {
        let waits_on: Vec<String> = graph.upstream[i]
            .iter()
            .filter(|&&a| {
                by_index[a]
                    .as_ref()
                    .is_some_and(|s| s.status != Status::Exist)
            })
            .map(|&a| graph.tasks[a].id())
            .collect();
        let pending = by_index[i]
            .as_ref()
            .is_some_and(|s| s.status == Status::Pending);
        if waits_on.is_empty() && pending {
            let mut again = false;
            for &a in &graph.upstream[i] {
                let Some(run) = by_index[a].as_ref().and_then(|s| s.run.as_ref()) else {
                    continue;
                };
                let done = match assumed[a] {
                    Some(done) => done,
                    None => {
                        let files = recorded::absent_outputs(
                            store,
                            trust,
                            resolver.root(),
                            graph.tasks[a],
                            &run.id,
                        )?;
                        let done = !files.is_empty();
                        resolver.assume_files(files);
                        assumed[a] = Some(done);
                        done
                    }
                };
                again |= done;
            }
            if again {
                let task = graph.tasks[i];
                resolver.forget(&task.id());
                let s = status::one(resolver, store, trust, task, lookup_input_str, None)?;
                for why in &s.refused {
                    reporter.note(&format!("{}: {why}", task.id()));
                }
                by_index[i] = Some(s);
            }
        }
        if let Some(s) = by_index[i].as_mut() {
            if !waits_on.is_empty() && s.status == Status::Exist {
                s.status = Status::Pending;
                s.run = None;
            }
            s.waits_on = waits_on;
        }
    }
    Ok(selected
        .iter()
        .filter_map(|t| graph.index_of(&t.id()))
        .filter_map(|i| by_index[i].take())
        .collect())
}
