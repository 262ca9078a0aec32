//! The history query of `task_runs`: which tasks a target names (`APP`, `APP.TASK`, `*`), their
//! runs in a window, optionally only those with an input (which reads their records), sorted.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::config::model::App;
use super::records::{self, RunEntry, Window};
use crate::store::Store;
use crate::trust::Trust;
use crate::{Error, Kind, Result};

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

/// What a query found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub runs: Vec<Run>,
    /// One line per run whose record `--has-input` could not read (corrupt or untrusted),
    /// left out of the listing.
    pub skipped: Vec<String>,
}

/// The runs `query` asks for among the tasks of `apps`, newest first unless sorted otherwise.
pub fn runs(apps: &[App], store: &dyn Store, trust: &Trust, query: &Query) -> Result<Listing> {
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
    // Only the newest-first order can stop at the limit: another order needs every run of
    // the window first. A filter stops at the limit's matches, not at the limit's runs.
    let newest_first = query.sort.is_none_or(|s| !s.by_duration && s.descending);
    let window = Window {
        after,
        before,
        limit: (query.limit > 0 && newest_first && query.has_input.is_none())
            .then_some(query.limit),
    };
    let mut skipped = Vec::new();
    let mut runs = match &query.has_input {
        // Newest first with a limit: list a few times the limit, read those records, and list
        // further (four times as many) only when they hold too few matches; a long history
        // beyond the matches is never listed.
        Some(want) if newest_first && query.limit > 0 => {
            let mut n = (query.limit * 8).max(64);
            loop {
                let page = Window {
                    limit: Some(n),
                    ..window
                };
                let listed = records::list_runs(store, &tasks, page)?;
                let exhausted = listed.len() < n;
                skipped.clear();
                let found = with_input(store, trust, listed, want, query.limit, &mut skipped)?;
                if exhausted || found.len() >= query.limit {
                    break found;
                }
                n = n.saturating_mul(4);
            }
        }
        Some(want) => {
            let listed = records::list_runs(store, &tasks, window)?;
            with_input(store, trust, listed, want, 0, &mut skipped)?
        }
        None => records::list_runs(store, &tasks, window)?,
    };
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
    let runs = runs
        .into_iter()
        .map(|(app, task, entry)| Run { app, task, entry })
        .collect();
    Ok(Listing { runs, skipped })
}

/// A run as the listing finds it: app, task and history entry.
type Listed = (String, String, RunEntry);

/// How many records `--has-input` reads at once (each is a round trip to S3).
const READERS: usize = 16;

/// What the readers of [`with_input`] share.
struct Reading {
    /// Per run: whether its record has the input, once read.
    verdicts: Vec<Option<bool>>,
    /// How many runs from the first have a verdict, and how many of those match.
    decided: usize,
    matches: usize,
    /// Runs whose record could not be read, by index.
    skipped: Vec<(usize, String)>,
    failed: Option<Error>,
}

/// The runs of `runs` (in their order) whose record has the input `want`, at most `limit`
/// (0: all). Records are read [`READERS`] at a time, in order, and none is started once the
/// runs before it hold `limit` matches: the answer is the one reading them one by one gives.
/// A record that is corrupt or untrusted is skipped and named in `skipped`; a store that
/// fails to answer fails the listing.
fn with_input(
    store: &dyn Store,
    trust: &Trust,
    runs: Vec<Listed>,
    want: &str,
    limit: usize,
    skipped: &mut Vec<String>,
) -> Result<Vec<Listed>> {
    let next = AtomicUsize::new(0);
    let state = Mutex::new(Reading {
        verdicts: vec![None; runs.len()],
        decided: 0,
        matches: 0,
        skipped: Vec::new(),
        failed: None,
    });
    let enough = |s: &Reading| s.failed.is_some() || (limit > 0 && s.matches >= limit);
    std::thread::scope(|scope| {
        for _ in 0..runs.len().clamp(1, READERS) {
            scope.spawn(|| loop {
                if enough(&state.lock().expect("readers")) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((_, _, entry)) = runs.get(i) else {
                    break;
                };
                let read = records::load(store, trust, &entry.id);
                let mut s = state.lock().expect("readers");
                let verdict = match read {
                    Ok(r) => r.is_some_and(|r| r.inputs.iter().any(|x| x.shown() == want)),
                    Err(e) if matches!(e.kind(), Kind::Corrupt | Kind::Untrusted) => {
                        s.skipped.push((i, format!("{e}; skipped")));
                        false
                    }
                    Err(e) => {
                        s.failed.get_or_insert(e);
                        break;
                    }
                };
                s.verdicts[i] = Some(verdict);
                while let Some(Some(v)) = s.verdicts.get(s.decided).copied() {
                    s.matches += usize::from(v);
                    s.decided += 1;
                    if enough(&s) {
                        break;
                    }
                }
            });
        }
    });
    let s = state.into_inner().expect("readers");
    if let Some(e) = s.failed {
        return Err(e);
    }
    // Only what reading in order reaches counts: records read past the last match wanted
    // were read in parallel with it, not asked for.
    let reached = s.decided;
    let mut found: Vec<(usize, String)> = s
        .skipped
        .into_iter()
        .filter(|(i, _)| *i < reached)
        .collect();
    found.sort();
    skipped.extend(found.into_iter().map(|(_, line)| line));
    Ok(runs
        .into_iter()
        .zip(s.verdicts)
        .take(reached)
        .filter_map(|(run, v)| (v == Some(true)).then_some(run))
        .collect())
}
