//! `task_runs [APP[.TASK]]`: the recorded runs of tasks, newest first.

use ci3::clock::rfc3339;
use ci3::tasks::format::{self, Column, Format};
use ci3::tasks::records;
use ci3::tasks::run::seconds;
use ci3_tools::tasks::{OutputArgs, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Lists recorded runs, newest first: id, app, task, result, start time, duration and total
/// input digest. APP, APP.TASK, APP.*, *.TASK or * (the default: every task of the repository's
/// apps). The list comes from one listing of the store per task; no record is read unless
/// --has-input asks about the inputs.
#[derive(Parser)]
#[command(name = "task_runs", version, after_help = help())]
#[command(mut_arg("quiet", |a| a.help("Only the run ids")))]
struct Args {
    /// APP or APP.TASK; `*` matches every app or task.
    target: Option<String>,
    /// Only runs started after this time (YYYY-MM-DD[THH:MM[:SS]] or YYYY.MM.DD-HH:MM, UTC).
    #[arg(short, long)]
    after: Option<String>,
    /// Only runs started before this time.
    #[arg(short, long)]
    before: Option<String>,
    /// At most this many runs (0: all).
    #[arg(short, long, default_value_t = 0)]
    limit: usize,
    /// Sort by FIELD-ORDER: FIELD time or duration, ORDER asc or desc (default: time-desc;
    /// equal durations newest first).
    #[arg(short, long, value_name = "FIELD-ORDER", value_parser = parse_sort)]
    sort: Option<Sort>,
    /// Only runs that have this input: a file by its repository-relative path, an input string
    /// as string:VALUE, an environment variable as $NAME.
    #[arg(long = "has-input", value_name = "INPUT")]
    has_input: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    quiet: QuietArg,
    #[command(flatten)]
    repo: RepositoryArg,
}

const COLUMNS: &[Column] = &[
    Column::new("id", "Id", "RunID"),
    Column::new("app", "App", "AppName"),
    Column::new("task", "Task", "TaskName"),
    Column::new("result", "Result", "Result"),
    Column::new("start", "Start Time", "StartTime"),
    Column::new("duration", "Duration", "Duration"),
    Column::new("digest", "Input Digest", "InputDigest"),
];

/// `--sort`.
#[derive(Debug, Clone, Copy)]
struct Sort {
    by_duration: bool,
    descending: bool,
}

/// The original's `FIELD-ORDER`, both parts case-insensitive, with its messages.
fn parse_sort(s: &str) -> Result<Sort, String> {
    let Some((field, order)) = s.split_once('-').filter(|(_, o)| !o.contains('-')) else {
        return Err("format must be FIELD-ORDER".into());
    };
    let by_duration = match field.to_lowercase().as_str() {
        "time" => false,
        "duration" => true,
        _ => return Err("format must be: FIELD-ORDER".into()),
    };
    let descending = match order.to_lowercase().as_str() {
        "asc" => false,
        "desc" => true,
        _ => return Err("undefined order".into()),
    };
    Ok(Sort {
        by_duration,
        descending,
    })
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  listed\n  1  usage or store error, a bad date, or no matching run\n  \
         2  a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("task_runs");
    ci3_tools::run(tool.name, || {
        let (app, task) = match args.target.as_deref() {
            None => (None, None),
            Some(t) => {
                let (a, t) = match t.split_once('.') {
                    Some((a, t)) if !t.contains('.') => (a, Some(t)),
                    Some(_) => ci3::fail!(Failed, "invalid argument: {t:?}"),
                    None => (t, None),
                };
                let any = |s: &str| (!s.is_empty() && s != "*").then(|| s.to_string());
                (any(a), t.and_then(any))
            }
        };
        let after = args.after.as_deref().map(records::parse_time).transpose()?;
        let before = args
            .before
            .as_deref()
            .map(records::parse_time)
            .transpose()?;
        let (repo, _) = args.repo.open(&tool)?;
        if let Some(a) = &app {
            if !repo.apps.iter().any(|x| &x.name == a) {
                ci3::fail!(Failed, "{a}: unknown app");
            }
        }
        let tasks: Vec<(String, String)> = repo
            .apps
            .iter()
            .filter(|a| app.as_ref().is_none_or(|x| *x == a.name))
            .flat_map(|a| a.tasks.iter().map(|t| (a.name.clone(), t.name.clone())))
            .filter(|(_, t)| task.as_ref().is_none_or(|x| x == t))
            .collect();
        let selected = tool.store();
        let store = selected.store.as_ref();
        // Only the newest-first listing can stop at --limit: a filter or another order needs
        // every run in the window first.
        let newest_first =
            args.has_input.is_none() && args.sort.is_none_or(|s| !s.by_duration && s.descending);
        let window = records::Window {
            after,
            before,
            limit: (args.limit > 0 && newest_first).then_some(args.limit),
        };
        let mut runs = records::list_runs(store, &tasks, window)?;
        if let Some(want) = &args.has_input {
            let mut kept = Vec::with_capacity(runs.len());
            for run in runs {
                let Some(rec) = records::load(store, &selected.trust, &run.2.id)? else {
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
        match args.sort {
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
        if args.limit > 0 {
            runs.truncate(args.limit);
        }
        if runs.is_empty() {
            tool.say("no matching task runs exist");
            return Ok(1);
        }
        let format = args.output.format();
        if args.quiet.quiet {
            for (_, _, r) in &runs {
                println!("{}", r.id);
            }
            return Ok(0);
        }
        let mut rows = Vec::with_capacity(runs.len());
        for (a, t, r) in &runs {
            let duration = match format {
                Format::Plain => seconds(r.duration_us),
                _ => format!("{:.3}", r.duration_us as f64 / 1e6),
            };
            rows.push(vec![
                r.id.clone(),
                a.clone(),
                t.clone(),
                r.result.word().to_string(),
                rfc3339(r.start_us()),
                duration,
                r.total_digest.clone(),
            ]);
        }
        print!("{}", format::render(format, COLUMNS, &rows, true));
        Ok(0)
    })
}
