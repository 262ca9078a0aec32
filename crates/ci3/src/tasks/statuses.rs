//! The status of a command line's targets through the task graph, for every tool asking for it.

use std::path::Path;

use super::config::{Repo, TaskRef};
use super::graph::{self, Graph};
use super::inputs::Resolver;
use super::status::TaskStatus;
use crate::report::Reporter;
use crate::settings::Settings;
use crate::store::Selected;
use crate::Result;

/// What counts as an input besides the files, and who hears about refused runs.
pub struct Ask<'a> {
    pub settings: &'a Settings,
    /// `--input-str`: strings that count as inputs of every task.
    pub input_strs: &'a [String],
    /// `--lookup-input-str`.
    pub lookup_input_str: Option<&'a str>,
    /// Hears each run a trusted reader refuses.
    pub reporter: &'a dyn Reporter,
}

/// Which tasks of the targets get a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The selected tasks, in the order the selection gives.
    Selected,
    /// The selected tasks and every task upstream of them, each after those it depends on.
    WithUpstream,
}

/// Selects `targets` (relative to `cwd`) in `repo`, builds its task graph, opens the store
/// (`store`, once the targets and the graph are known good: their errors come first), resolves
/// the inputs against one read of the index and evaluates the status of the tasks `shown` asks
/// for; `then` gets the graph, those statuses and the store (the statuses borrow the graph,
/// which lives only for this call).
pub fn of_targets<T>(
    repo: &Repo,
    cwd: &Path,
    targets: &[String],
    shown: Shown,
    ask: &Ask<'_>,
    store: impl FnOnce() -> Selected,
    then: impl for<'g> FnOnce(&Graph<'g>, Vec<TaskStatus<'g>>, &Selected) -> Result<T>,
) -> Result<T> {
    let selected = repo.select(cwd, targets)?;
    let graph = Graph::build(repo)?;
    let opened = store();
    let tasks: Vec<TaskRef<'_>> = match shown {
        Shown::Selected => selected,
        Shown::WithUpstream => graph
            .ordered(&graph.with_upstream(&selected))
            .into_iter()
            .map(|i| graph.tasks[i])
            .collect(),
    };
    let co = repo.checkout(ask.settings)?;
    let resolver = Resolver::open(&repo.root, &co, ask.settings, ask.input_strs)?;
    let statuses = graph::status::evaluate(
        &resolver,
        opened.store.as_ref(),
        &opened.trust,
        &graph,
        &tasks,
        ask.lookup_input_str,
        ask.reporter,
    )?;
    then(&graph, statuses, &opened)
}
