//! `/`: the CI runs registry by section, newest first; `/_/run/SECTION/ID`: one run, its log
//! live and the tests it names.

use std::collections::BTreeMap;

use serde_json::Value;

use super::html::{age, duration_ms, esc, page, status_class, url};
use super::{listing, logs, Ctx};
use crate::server::{limits, objects, reads};

/// Runs shown per section on the registry.
const SHOWN: usize = 25;
const ROOT: &str = ".ci3/ci-runs/";

/// One run record as the dashboard reads it.
struct Run {
    section: String,
    id: String,
    record: Value,
}

impl Run {
    fn field(&self, name: &str) -> String {
        match self.record.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    /// When the run started, Unix milliseconds: `timestamp` in seconds, milliseconds or the
    /// longer ids some clients use (milliseconds and three more digits).
    fn start_ms(&self) -> u64 {
        let t = self
            .record
            .get("timestamp")
            .and_then(Value::as_f64)
            .unwrap_or(0.0) as u64;
        scale_ms(t)
    }

    /// `complete` (a time like `timestamp`) or `duration` (seconds); a run still going has none.
    fn duration_ms(&self) -> Option<u64> {
        if let Some(done) = self.record.get("complete").and_then(Value::as_f64) {
            return Some(scale_ms(done as u64).saturating_sub(self.start_ms()));
        }
        let secs = self.record.get("duration").and_then(Value::as_f64)?;
        Some((secs * 1000.0) as u64)
    }
}

fn scale_ms(t: u64) -> u64 {
    match t {
        0..=99_999_999_999 => t * 1000,
        100_000_000_000..=99_999_999_999_999 => t,
        _ => t / 1000,
    }
}

/// The sections and, for each, its newest runs' object names (a section's names sort newest
/// first: they are countdowns).
fn sections(ctx: &Ctx) -> crate::Result<BTreeMap<String, Vec<(String, String)>>> {
    let mut out = BTreeMap::new();
    let mut found = Vec::new();
    section_names(ctx, "", &mut found)?;
    for section in found {
        let dir = objects::run_dir(&section);
        let names = ctx.store.list_sorted(&dir, None, SHOWN)?;
        let listed = names
            .into_iter()
            .filter_map(|name| {
                let countdown = name.strip_prefix(&dir)?.strip_suffix(".json")?;
                Some((id_of(countdown), name.clone()))
            })
            .collect();
        out.insert(section, listed);
    }
    Ok(out)
}

/// Sections may hold `/` (`prs/next`): a directory holding `~` is one, others are descended.
fn section_names(ctx: &Ctx, below: &str, out: &mut Vec<String>) -> crate::Result<()> {
    for child in listing::children(ctx, &format!("{ROOT}{below}"))? {
        if child == "~" {
            out.push(below.trim_end_matches('/').to_string());
        } else if below.matches('/').count() < 4 {
            section_names(ctx, &format!("{below}{child}/"), out)?;
        }
    }
    Ok(())
}

/// A countdown's number back (the nines' complement, leading zeros gone).
fn id_of(countdown: &str) -> String {
    let digits: String = countdown
        .bytes()
        .map(|b| (b'9' - b.saturating_sub(b'0').min(9)) as char)
        .collect();
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

fn load(ctx: &Ctx, section: &str, listed: &[(String, String)]) -> crate::Result<Vec<Run>> {
    let names: Vec<String> = listed.iter().map(|(_, n)| n.clone()).collect();
    let now = ctx.now();
    let bodies = reads::many(&names, |n| {
        reads::small(ctx.store.as_ref(), n, now, limits::RUN)
    })?;
    Ok(listed
        .iter()
        .zip(bodies)
        .filter_map(|((id, _), body)| {
            let record = serde_json::from_slice(&body?).ok()?;
            Some(Run {
                section: section.to_string(),
                id: id.clone(),
                record,
            })
        })
        .collect())
}

/// `/`: every section's newest runs.
pub fn registry(ctx: &Ctx) -> crate::Result<String> {
    let now = ctx.now();
    let mut body = String::new();
    let all = sections(ctx)?;
    if all.is_empty() {
        body.push_str("<p class=\"muted\">No CI runs yet (<code>PUT /runs/SECTION/ID</code>).</p>");
    }
    for (section, listed) in &all {
        body.push_str(&format!(
            "<h2>{}</h2><table class=\"runs\" data-section=\"{}\"><tr><th>Status</th><th>Name</th>\
             <th>Author</th><th>Age</th><th>Duration</th><th>Message</th></tr>",
            esc(section),
            esc(section)
        ));
        for run in load(ctx, section, listed)? {
            body.push_str(&row(&run, now));
        }
        body.push_str("</table>");
    }
    Ok(page("CI runs", &body))
}

fn row(run: &Run, now: u64) -> String {
    let status = run.field("status");
    let duration = match run.duration_ms() {
        Some(ms) => duration_ms(ms),
        None => "…".into(),
    };
    format!(
        "<tr class=\"run\"><td class=\"{}\">{}</td><td><a href=\"/_/run/{}/{}\">{}</a></td>\
         <td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
        status_class(&status),
        esc(&status),
        url(&run.section),
        url(&run.id),
        esc(&run.field("name")),
        esc(&run.field("author")),
        esc(&age(now, run.start_ms() / 1000)),
        esc(&duration),
        esc(&run.field("msg")),
    )
}

/// `/_/run/SECTION/ID`: the record's fields and its log (`log_id`, else the log named like the
/// run), live.
pub fn run(ctx: &Ctx, section: &str, id: &str) -> crate::Result<Option<String>> {
    let Ok(name) = objects::run(section, id) else {
        return Ok(None);
    };
    let listed = [(id.to_string(), name)];
    let Some(run) = load(ctx, section, &listed)?.pop() else {
        return Ok(None);
    };
    let mut body = String::from("<table class=\"record\">");
    if let Some(fields) = run.record.as_object() {
        for (key, value) in fields {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            body.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(key),
                esc(&shown)
            ));
        }
    }
    body.push_str("</table>");
    let log_id = match run.field("log_id") {
        id if !id.is_empty() => id,
        _ => id.to_string(),
    };
    match logs::read(ctx, &log_id)? {
        Some(text) => {
            body.push_str(&format!(
                "<h2>Log <a href=\"/{}\">{}</a></h2>",
                url(&log_id),
                esc(&log_id)
            ));
            body.push_str(&logs::view(&log_id, &text));
        }
        None => body.push_str("<p class=\"muted\">No log for this run.</p>"),
    }
    Ok(Some(page(
        &format!("{} · {}", run.field("name"), section),
        &body,
    )))
}

#[cfg(test)]
mod unit {
    #[test]
    fn countdowns_back_to_ids() {
        assert_eq!(super::id_of("99999999999999998287"), "1712");
        assert_eq!(super::scale_ms(1_700_000_000), 1_700_000_000_000);
        assert_eq!(super::scale_ms(1_700_000_000_123_456), 1_700_000_000_123);
    }
}
