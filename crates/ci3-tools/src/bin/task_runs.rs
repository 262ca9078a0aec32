//! `task_runs [APP[.TASK]]`: the recorded runs of tasks, newest first.

use ci3::tasks::format::{self, Column, Format};
use ci3::tasks::records::{self, rfc3339};
use ci3::tasks::run::seconds;
use ci3_tools::tasks::{OutputArgs, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Lists recorded runs, newest first: id, app, task, result, start time, duration and total
/// input digest. APP, APP.TASK, APP.*, *.TASK or * (the default: every task of the repository's
/// apps). The list comes from one listing of the store per task; no record is read unless its
/// name lacks the duration.
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
        let (repo, _) = args.repo.open(&tool)?;
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
        let mut runs = records::list_runs(store, &tasks)?;
        runs.retain(|(_, _, r)| {
            after.is_none_or(|t| r.start_us() > t) && before.is_none_or(|t| r.start_us() < t)
        });
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
