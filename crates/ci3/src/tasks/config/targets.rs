//! Which tasks a command line names: `APP.TASK`, `APP`, `APP.*`, `*.TASK`, `*`, `*.*`, or an app
//! directory given as a path; several are unioned and sorted by task id.

use std::path::Path;

use super::model::{App, Task};
use crate::Result;

/// One task together with its app.
#[derive(Debug, Clone, Copy)]
pub struct TaskRef<'a> {
    pub app: &'a App,
    pub task: &'a Task,
}

impl TaskRef<'_> {
    /// `APP.TASK`, the name every output uses.
    pub fn id(&self) -> String {
        format!("{}.{}", self.app.name, self.task.name)
    }
}

/// The tasks `targets` name (all of them when there is none). A target that names an existing
/// directory (relative to `cwd`) is an app directory; anything else is `APP[.TASK]`. A target
/// that names nothing is a `Usage` error.
pub fn select<'a>(
    root: &Path,
    cwd: &Path,
    apps: &'a [App],
    targets: &[String],
) -> Result<Vec<TaskRef<'a>>> {
    let all = || {
        apps.iter()
            .flat_map(|app| app.tasks.iter().map(move |task| TaskRef { app, task }))
    };
    let mut out: Vec<TaskRef<'a>> = Vec::new();
    if targets.is_empty() {
        out.extend(all());
    }
    for target in targets {
        let as_path = cwd.join(target);
        if as_path.is_dir() {
            let dir =
                std::fs::canonicalize(&as_path).map_err(|e| crate::err!(Usage, "{target}: {e}"))?;
            let app =
                apps.iter()
                    .find(|a| root.join(&a.dir) == dir || (a.dir == "." && dir == root))
                    .ok_or_else(|| {
                        crate::err!(Usage,
                        "{target}: not an application directory (no {} of a discovered app in it)",
                        super::load::APP_CONFIG
                    )
                    })?;
            out.extend(app.tasks.iter().map(|task| TaskRef { app, task }));
            continue;
        }
        if target.contains('/') || target.is_empty() {
            crate::fail!(Usage, "{target}: no such application directory");
        }
        let (app_part, task_part) = match target.split_once('.') {
            Some((a, t)) => (a, Some(t)),
            None => (target.as_str(), None),
        };
        let task_part = task_part.filter(|t| *t != "*");
        let chosen: Vec<&App> = if app_part == "*" {
            apps.iter().collect()
        } else {
            let app = apps.iter().find(|a| a.name == app_part).ok_or_else(|| {
                let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
                crate::err!(
                    Usage,
                    "{target}: unknown app \"{app_part}\" (apps: {})",
                    listed(&names)
                )
            })?;
            vec![app]
        };
        let before = out.len();
        for app in chosen {
            match task_part {
                None => out.extend(app.tasks.iter().map(|task| TaskRef { app, task })),
                Some(name) => match app.tasks.iter().find(|t| t.name == name) {
                    Some(task) => out.push(TaskRef { app, task }),
                    None if app_part == "*" => {}
                    None => {
                        let names: Vec<&str> = app.tasks.iter().map(|t| t.name.as_str()).collect();
                        crate::fail!(
                            Usage,
                            "{target}: app \"{app_part}\" has no task \"{name}\" (its tasks: {})",
                            listed(&names)
                        )
                    }
                },
            }
        }
        if out.len() == before && app_part == "*" && task_part.is_some() {
            crate::fail!(
                Usage,
                "{target}: no app has a task \"{}\"",
                task_part.unwrap_or_default()
            );
        }
    }
    out.sort_by_cached_key(|t| t.id());
    out.dedup_by(|a, b| a.id() == b.id());
    Ok(out)
}

/// The one task of `tasks`, which `target` named; naming several is a `Usage` error that lists
/// them (baur only said "matches multiple tasks", which leaves the user to find their names).
pub fn one<'a>(target: &str, tasks: &[TaskRef<'a>]) -> Result<TaskRef<'a>> {
    let [task] = tasks else {
        let (n, Some(t)) = (tasks.len(), tasks.first()) else {
            crate::fail!(Usage, "\"{target}\" names no task");
        };
        let (first, app) = (t.id(), t.app.name.as_str());
        if tasks.iter().all(|t| t.app.name == app) {
            let names: Vec<&str> = tasks.iter().map(|t| t.task.name.as_str()).collect();
            crate::fail!(
                Usage,
                "app \"{app}\" has {n} tasks ({}); name one as {first}",
                listed(&names)
            );
        }
        let ids: Vec<String> = tasks.iter().map(TaskRef::id).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        crate::fail!(
            Usage,
            "\"{target}\" names {n} tasks ({}); name one as {first}",
            listed(&ids)
        );
    };
    Ok(*task)
}

/// Names for a one-line error: the first few, sorted, and how many more (a wrong name should
/// show the right ones without flooding the line).
pub fn listed(names: &[&str]) -> String {
    const SHOWN: usize = 10;
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    let mut out = sorted
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if sorted.len() > SHOWN {
        out.push_str(&format!(" and {} more", sorted.len() - SHOWN));
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}
