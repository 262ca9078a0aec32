//! The graph as `task_graph` prints it: plain lines, Graphviz's dot, or JSON.

use serde::Serialize;

use super::Graph;
use crate::tasks::status::TaskStatus;
use crate::Result;

/// The tasks a status depends on, by id.
fn depends_on(graph: &Graph<'_>, s: &TaskStatus<'_>) -> Vec<String> {
    graph
        .index_of(&s.task.id())
        .map(|i| {
            graph.upstream[i]
                .iter()
                .map(|&a| graph.tasks[a].id())
                .collect()
        })
        .unwrap_or_default()
}

/// One line per task, upstream tasks first: `ID  STATUS  <- UPSTREAM,...`.
pub fn plain(graph: &Graph<'_>, statuses: &[TaskStatus<'_>]) -> String {
    let id_w = statuses
        .iter()
        .map(|s| s.task.id().len())
        .max()
        .unwrap_or(0);
    let st_w = statuses
        .iter()
        .map(|s| s.status.as_str().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for s in statuses {
        let ups = depends_on(graph, s);
        let line = if ups.is_empty() {
            format!("{:<id_w$}  {}", s.task.id(), s.status)
        } else {
            format!(
                "{:<id_w$}  {:<st_w$}  <- {}",
                s.task.id(),
                s.status.as_str(),
                ups.join(", ")
            )
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A `digraph` with an edge from each task to those depending on it, each node labelled with
/// its status (`dot -Tsvg` draws it).
pub fn dot(graph: &Graph<'_>, statuses: &[TaskStatus<'_>]) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from("digraph tasks {\n  rankdir=LR;\n  node [shape=box];\n");
    for s in statuses {
        let id = s.task.id();
        out.push_str(&format!(
            "  {} [label={}];\n",
            q(&id),
            q(&format!("{id}\\n{}", s.status))
        ));
    }
    for s in statuses {
        for up in depends_on(graph, s) {
            out.push_str(&format!("  {} -> {};\n", q(&up), q(&s.task.id())));
        }
    }
    out.push_str("}\n");
    out
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Node {
    app_name: String,
    #[serde(rename = "TaskID")]
    task_id: String,
    path: String,
    status: String,
    #[serde(rename = "RunID")]
    run_id: Option<String>,
    depends_on: Vec<String>,
    waits_on: Vec<String>,
}

/// A JSON array, one object per task (`TaskID`, `Status`, `DependsOn`, `WaitsOn`, ...).
pub fn json(graph: &Graph<'_>, statuses: &[TaskStatus<'_>]) -> Result<String> {
    let nodes: Vec<Node> = statuses
        .iter()
        .map(|s| Node {
            app_name: s.task.app.name.clone(),
            task_id: s.task.id(),
            path: s.task.app.dir.clone(),
            status: s.status.to_string(),
            run_id: s.run.as_ref().map(|r| r.id.clone()),
            depends_on: depends_on(graph, s),
            waits_on: s.waits_on.clone(),
        })
        .collect();
    Ok(serde_json::to_string_pretty(&nodes)? + "\n")
}
