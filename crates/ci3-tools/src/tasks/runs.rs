//! What `task_runs` prints of a run: its own values, or, run for `baur ls runs`, baur's (the run
//! number as Id, Go's time layout and durations).

use ci3::clock::rfc3339;
use ci3::tasks::records::Numbering;
use ci3::tasks::run::seconds;
use ci3::tasks::runs::Run;

use super::baur::format;
use super::table::{Column, Format};

pub const COLUMNS: &[Column] = &[
    Column::new("id", "Id", "RunID"),
    Column::new("app", "App", "AppName"),
    Column::new("task", "Task", "TaskName"),
    Column::new("result", "Result", "Result"),
    Column::new("start", "Start Time", "StartTime"),
    Column::new("duration", "Duration", "Duration"),
    Column::new("digest", "Input Digest", "InputDigest"),
];

/// The run's id, or with `baur` its number (its id if the numbering has not seen it yet).
pub fn id(r: &Run, baur: Option<&Numbering>) -> String {
    baur.and_then(|n| n.number_of(&r.entry.id))
        .map_or_else(|| r.entry.id.clone(), |n| n.to_string())
}

/// The rows of `runs` in `format`; with `baur`, as `baur ls runs` prints them
/// (internal/command/ls_runs.go): the start in `flag.DateTimeFormatTz`, the duration as
/// `term.FormatDuration` (seconds with three decimals in CSV, as there).
pub fn rows(runs: &[Run], format: Format, baur: Option<&Numbering>) -> Vec<Vec<String>> {
    runs.iter()
        .map(|r| {
            let e = &r.entry;
            let duration = match (format, baur) {
                (Format::Plain, None) => seconds(e.duration_us),
                (Format::Plain, Some(_)) => format::duration(e.duration_us),
                _ => format!("{:.3}", e.duration_us as f64 / 1e6),
            };
            let start = match baur {
                Some(_) => format::time(e.start_us()),
                None => rfc3339(e.start_us()),
            };
            vec![
                id(r, baur),
                r.app.clone(),
                r.task.clone(),
                e.result.word().to_string(),
                start,
                duration,
                e.total_digest.prefixed(),
            ]
        })
        .collect()
}
