//! The task runner's half: every task's status from its run records, its last runs with their
//! durations as a chart, a run's inputs and outputs, and the inputs that differ between two runs.
//!
//! The server has no repo, so it cannot digest a task's inputs now: a task shows `Exist` when
//! its newest run succeeded (its outputs are stored for that run's inputs) and `Pending` when
//! it failed, which is what its next run must change.

use std::fmt::Write;

use super::html::{age, duration_ms, esc, page, status_class, url};
use super::{listing, query_value, Ctx};
use crate::store::names::RUNS;
use crate::tasks::diff;
use crate::tasks::records::{self, Record, RunEntry, RunResult, Window};
use crate::trust::Trust;

/// Runs charted per task on the overview, and listed on a task's page.
const CHARTED: usize = 20;
const LISTED: usize = 100;

fn status_of(newest: Option<&RunEntry>) -> &'static str {
    match newest.map(|r| r.result) {
        Some(RunResult::Success) => "Exist",
        _ => "Pending",
    }
}

/// `APP.TASK` split at its last dot (task names have none).
fn split(name: &str) -> Option<(&str, &str)> {
    name.rsplit_once('.')
}

/// Bars of the runs' durations, oldest left, coloured by result.
fn chart(runs: &[RunEntry]) -> String {
    let longest = runs.iter().map(|r| r.duration_us).max().unwrap_or(1).max(1);
    let width = runs.len() * 10 + 2;
    let mut svg = format!(
        "<svg class=\"chart\" width=\"{width}\" height=\"32\" viewBox=\"0 0 {width} 32\" \
         xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, r) in runs.iter().rev().enumerate() {
        let h = 3 + (r.duration_us * 28 / longest) as usize;
        let colour = match r.result {
            RunResult::Success => "#2e7d32",
            RunResult::Failure => "#c62828",
        };
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"8\" height=\"{h}\" fill=\"{colour}\"><title>{} {} \
             {}</title></rect>",
            1 + i * 10,
            31 - h,
            esc(&r.id),
            r.result.word(),
            esc(&duration_ms(r.duration_us / 1000))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `/_/tasks`
pub fn all(ctx: &Ctx) -> crate::Result<String> {
    let now = ctx.now();
    let store = ctx.store.as_ref();
    let mut body = String::from(
        "<table class=\"tasks\"><tr><th>Task</th><th>Status</th><th>Last run</th>\
         <th>Duration</th><th>Last runs</th></tr>",
    );
    let names = listing::children(ctx, &format!("{RUNS}history/"))?;
    for name in &names {
        let Some((app, task)) = split(name) else {
            continue;
        };
        let window = Window {
            limit: Some(CHARTED),
            ..Window::default()
        };
        let runs = records::history(store, app, task, window)?;
        let status = status_of(runs.first());
        let (last, took) = match runs.first() {
            Some(r) => (
                format!(
                    "<a href=\"/_/taskrun/{}\">{}</a>",
                    url(&r.id),
                    esc(&age(now, r.start_us() / 1_000_000))
                ),
                esc(&duration_ms(r.duration_us / 1000)),
            ),
            None => (String::new(), String::new()),
        };
        let _ = write!(
            body,
            "<tr class=\"task\"><td><a href=\"/_/task/{}\">{}</a></td><td class=\"{} status\">{}\
             </td><td>{last}</td><td class=\"num\">{took}</td><td>{}</td></tr>",
            url(name),
            esc(name),
            status_class(status),
            status,
            chart(&runs)
        );
    }
    body.push_str("</table>");
    if names.is_empty() {
        body.push_str("<p class=\"muted\">No task runs in this store yet.</p>");
    }
    Ok(page("Tasks", &body))
}

/// `/_/task/APP.TASK`
pub fn task(ctx: &Ctx, name: &str) -> crate::Result<Option<String>> {
    let Some((app, task)) = split(name) else {
        return Ok(None);
    };
    if !name.chars().all(crate::server::paths::allowed) {
        return Ok(None);
    }
    let window = Window {
        limit: Some(LISTED),
        ..Window::default()
    };
    let runs = records::history(ctx.store.as_ref(), app, task, window)?;
    if runs.is_empty() {
        return Ok(None);
    }
    let now = ctx.now();
    let mut body = format!(
        "<p>Status: <span class=\"{} status\">{}</span></p>{}<table class=\"runs\"><tr><th>Run\
         </th><th>Result</th><th>Started</th><th>Duration</th><th>Inputs</th></tr>",
        status_class(status_of(runs.first())),
        status_of(runs.first()),
        chart(&runs[..runs.len().min(CHARTED * 2)])
    );
    for (i, r) in runs.iter().enumerate() {
        let diff = match runs.get(i + 1) {
            Some(before) => format!(
                "<a href=\"/_/taskdiff?a={}&amp;b={}\">diff with previous</a>",
                url(&before.id),
                url(&r.id)
            ),
            None => String::new(),
        };
        let _ = write!(
            body,
            "<tr class=\"taskrun\"><td><a href=\"/_/taskrun/{}\">{}</a></td><td class=\"{}\">{}\
             </td><td>{}</td><td class=\"num\">{}</td><td>{diff}</td></tr>",
            url(&r.id),
            esc(&r.id),
            status_class(r.result.word()),
            r.result.word(),
            esc(&age(now, r.start_us() / 1_000_000)),
            esc(&duration_ms(r.duration_us / 1000))
        );
    }
    body.push_str("</table>");
    Ok(Some(page(name, &body)))
}

fn load(ctx: &Ctx, id: &str) -> crate::Result<Option<Record>> {
    if !records::is_run_id(id) {
        return Ok(None);
    }
    // The server checks no signatures: it shows what the store holds, as `task_runs` would
    // without trusted keys.
    records::load(ctx.store.as_ref(), &Trust::new(None, None), id)
}

/// `/_/taskrun/ID`
pub fn run(ctx: &Ctx, id: &str) -> crate::Result<Option<String>> {
    let Some(r) = load(ctx, id)? else {
        return Ok(None);
    };
    let mut body = String::from("<table class=\"record\">");
    let task = format!("{}.{}", r.app, r.task);
    let rows = [
        (
            "Task",
            format!("<a href=\"/_/task/{}\">{}</a>", url(&task), esc(&task)),
        ),
        (
            "Result",
            format!(
                "<span class=\"{}\">{}</span>",
                status_class(r.result.word()),
                r.result.word()
            ),
        ),
        (
            "Duration",
            esc(&duration_ms(r.stop_us.saturating_sub(r.start_us) / 1000)),
        ),
        ("Digest", esc(&r.total_digest.to_string())),
        ("Commit", esc(r.git_commit.as_deref().unwrap_or(""))),
        ("Host", esc(r.host.as_deref().unwrap_or(""))),
        ("Error", esc(r.error.as_deref().unwrap_or(""))),
    ];
    for (k, v) in rows {
        let _ = write!(body, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    body.push_str(
        "</table><h2>Inputs</h2><table class=\"inputs\"><tr><th>Input</th><th>Digest</th></tr>",
    );
    for i in &r.inputs {
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&i.shown()),
            esc(&i.digest.to_string())
        );
    }
    body.push_str("</table><h2>Outputs</h2><table class=\"outputs\"><tr><th>Output</th><th>Size</th><th>Stored at</th></tr>");
    for o in &r.outputs {
        let uploads: Vec<String> = o.uploads.iter().map(|u| u.uri.clone()).collect();
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&o.name.to_string()),
            o.size,
            esc(&uploads.join(" "))
        );
    }
    body.push_str("</table>");
    Ok(Some(page(&format!("Run {id}"), &body)))
}

/// `/_/taskdiff?a=ID&b=ID`: `task_diff`'s difference of two runs' inputs.
pub fn diff(ctx: &Ctx, query: &str) -> crate::Result<Option<String>> {
    let (Some(a), Some(b)) = (query_value(query, "a"), query_value(query, "b")) else {
        return Ok(None);
    };
    let (Some(ra), Some(rb)) = (load(ctx, &a)?, load(ctx, &b)?) else {
        return Ok(None);
    };
    let found = diff::diff(&ra.inputs, &rb.inputs);
    let mut body = format!(
        "<p>A: <a href=\"/_/taskrun/{}\">{}</a> · B: <a href=\"/_/taskrun/{}\">{}</a></p>",
        url(&a),
        esc(&a),
        url(&b),
        esc(&b)
    );
    if found.is_empty() {
        body.push_str("<p class=\"same\">The inputs are the same.</p>");
    }
    body.push_str("<table class=\"diff\"><tr><th></th><th>Input</th><th>A</th><th>B</th></tr>");
    for d in &found {
        let shown =
            |x: &Option<crate::digest::Digest>| x.map(|d| d.to_string()).unwrap_or_default();
        let _ = write!(
            body,
            "<tr class=\"difference\"><td>{}</td><td><code>{}</code></td><td><code>{}</code></td>\
             <td><code>{}</code></td></tr>",
            esc(d.state.as_str()),
            esc(&d.input),
            esc(&shown(&d.digest_a)),
            esc(&shown(&d.digest_b))
        );
    }
    body.push_str("</table>");
    Ok(Some(page("Inputs that differ", &body)))
}
