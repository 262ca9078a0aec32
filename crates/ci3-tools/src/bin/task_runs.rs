//! `task_runs [APP[.TASK]]`: the recorded runs of tasks, newest first.

use ci3::tasks::format::{self, Column, Format};
use ci3::tasks::records::{self, rfc3339};
use ci3::tasks::run::seconds;
use ci3_tools::tasks::TASK_ENV;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Lists recorded runs, newest first: id, app, task, result, start time, duration and total
/// input digest. APP, APP.TASK, APP.*, *.TASK or * (the default: every task of the repository's
/// apps). The list comes from one listing of the store per task; no record is read unless its
/// name lacks the duration.
#[derive(Parser)]
#[command(name = "task_runs", version, after_help = help())]
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
    /// Output format: plain, csv or json.
    #[arg(long, default_value = "plain")]
    format: Format,
    /// Same as --format csv.
    #[arg(long)]
    csv: bool,
    /// Only the run ids.
    #[arg(short, long)]
    quiet: bool,
    /// The repository (default: the nearest directory upwards holding .baur.toml).
    #[arg(long)]
    repository: Option<std::path::PathBuf>,
}

const COLUMNS: &[Column] = &[
    Column {
        field: "id",
        header: "Id",
        key: "RunID",
    },
    Column {
        field: "app",
        header: "App",
        key: "AppName",
    },
    Column {
        field: "task",
        header: "Task",
        key: "TaskName",
    },
    Column {
        field: "result",
        header: "Result",
        key: "Result",
    },
    Column {
        field: "start",
        header: "Start Time",
        key: "StartTime",
    },
    Column {
        field: "duration",
        header: "Duration",
        key: "Duration",
    },
    Column {
        field: "digest",
        header: "Input Digest",
        key: "InputDigest",
    },
];

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
    ci3_tools::tasks::run(tool.name, || {
        let (app, task) = match args.target.as_deref() {
            None => (None, None),
            Some(t) => {
                let (a, t) = match t.split_once('.') {
                    Some((a, t)) if !t.contains('.') => (a, Some(t)),
                    Some(_) => anyhow::bail!("invalid argument: {t:?}"),
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
        let start = ci3_tools::tasks::start_dir(args.repository.as_deref())?;
        let repo = ci3_tools::tasks::open(&tool, &start)?;
        if let Some(a) = &app {
            if !repo.apps.iter().any(|x| &x.name == a) {
                anyhow::bail!("{a}: unknown app");
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
        let window = records::Window {
            after,
            before,
            limit: (args.limit > 0).then_some(args.limit),
        };
        let runs = records::list_runs(store, &tasks, window)?;
        if runs.is_empty() {
            tool.say("no matching task runs exist");
            return Ok(1);
        }
        let format = if args.csv { Format::Csv } else { args.format };
        if args.quiet {
            for (_, _, r) in &runs {
                println!("{}", r.id);
            }
            return Ok(0);
        }
        let mut rows = Vec::with_capacity(runs.len());
        for (a, t, r) in &runs {
            let duration = match r.duration_us {
                Some(d) => Some(d),
                None => records::load(store, &selected.trust, &r.id)?
                    .map(|rec| rec.stop_us.saturating_sub(rec.start_us)),
            };
            let duration = duration.map_or_else(String::new, |d| match format {
                Format::Plain => seconds(d),
                _ => format!("{:.3}", d as f64 / 1e6),
            });
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
