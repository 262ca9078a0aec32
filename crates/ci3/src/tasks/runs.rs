//! The history query of `task_runs`: which tasks a target names (`APP`, `APP.TASK`, `*`), their
//! runs in a window, optionally only those with an input (which reads their records), sorted.

use std::str::FromStr;

use super::config::model::App;
use super::records::{self, RunEntry, Window};
use crate::store::Store;
use crate::trust::Trust;
use crate::{Error, Result};

/// `--sort FIELD-ORDER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub by_duration: bool,
    pub descending: bool,
}

/// The original's `FIELD-ORDER`, both parts case-insensitive, with its messages.
impl FromStr for Sort {
    type Err = Error;
    fn from_str(s: &str) -> Result<Sort> {
        let Some((field, order)) = s.split_once('-').filter(|(_, o)| !o.contains('-')) else {
            crate::fail!(Usage, "format must be FIELD-ORDER");
        };
        let by_duration = match field.to_lowercase().as_str() {
            "time" => false,
            "duration" => true,
            _ => crate::fail!(Usage, "format must be: FIELD-ORDER"),
        };
        let descending = match order.to_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => crate::fail!(Usage, "undefined order"),
        };
        Ok(Sort {
            by_duration,
            descending,
        })
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `APP` or `APP.TASK`, `*` matching every app or task; none: every task.
    pub target: Option<String>,
    /// Run ids or dates, as `--after` and `--before` take them.
    pub after: Option<String>,
    pub before: Option<String>,
    /// At most this many runs (0: all).
    pub limit: usize,
    pub sort: Option<Sort>,
    /// Only runs with this input, as listings show it (a path, `string:S`, `$NAME`).
    pub has_input: Option<String>,
}

/// A run of task `app.task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub app: String,
    pub task: String,
    pub entry: RunEntry,
}

/// The runs `query` asks for among the tasks of `apps`, newest first unless sorted otherwise.
pub fn runs(apps: &[App], store: &dyn Store, trust: &Trust, query: &Query) -> Result<Vec<Run>> {
    let (app, task) = match query.target.as_deref() {
        None => (None, None),
        Some(t) => {
            let (a, t) = match t.split_once('.') {
                Some((a, t)) if !t.contains('.') => (a, Some(t)),
                Some(_) => crate::fail!(Usage, "invalid argument: {t:?}"),
                None => (t, None),
            };
            let any = |s: &str| (!s.is_empty() && s != "*").then(|| s.to_string());
            (any(a), t.and_then(any))
        }
    };
    let after = query
        .after
        .as_deref()
        .map(records::parse_time)
        .transpose()?;
    let before = query
        .before
        .as_deref()
        .map(records::parse_time)
        .transpose()?;
    if let Some(a) = &app {
        if !apps.iter().any(|x| &x.name == a) {
            crate::fail!(Usage, "{a}: unknown app");
        }
    }
    let tasks: Vec<(String, String)> = apps
        .iter()
        .filter(|a| app.as_ref().is_none_or(|x| *x == a.name))
        .flat_map(|a| a.tasks.iter().map(|t| (a.name.clone(), t.name.clone())))
        .filter(|(_, t)| task.as_ref().is_none_or(|x| x == t))
        .collect();
    // Only the newest-first listing can stop at the limit: a filter or another order needs
    // every run in the window first.
    let newest_first =
        query.has_input.is_none() && query.sort.is_none_or(|s| !s.by_duration && s.descending);
    let window = Window {
        after,
        before,
        limit: (query.limit > 0 && newest_first).then_some(query.limit),
    };
    let mut runs = records::list_runs(store, &tasks, window)?;
    if let Some(want) = &query.has_input {
        let mut kept = Vec::with_capacity(runs.len());
        for run in runs {
            let Some(rec) = records::load(store, trust, &run.2.id)? else {
                continue;
            };
            if rec.inputs.iter().any(|i| i.shown() == *want) {
                kept.push(run);
            }
        }
        runs = kept;
    }
    // The runs come newest first and the sort is stable, so equal durations stay newest
    // first, as in the original, whose last sort key is always the start time, descending.
    match query.sort {
        Some(Sort {
            by_duration: false,
            descending: false,
        }) => runs.reverse(),
        Some(Sort {
            by_duration: true,
            descending,
        }) => runs.sort_by(|x, y| {
            let (a, b) = (x.2.duration_us, y.2.duration_us);
            if descending {
                b.cmp(&a)
            } else {
                a.cmp(&b)
            }
        }),
        _ => {}
    }
    if query.limit > 0 {
        runs.truncate(query.limit);
    }
    Ok(runs
        .into_iter()
        .map(|(app, task, entry)| Run { app, task, entry })
        .collect())
}
