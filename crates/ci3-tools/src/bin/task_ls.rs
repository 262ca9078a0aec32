//! `task_ls [apps|tasks]`: the apps or tasks of the repository.

use ci3::tasks::App;
use ci3_tools::tasks::baur;
use ci3_tools::tasks::table::{self, Column, Format, APP, PATH, TASK_ID};
use ci3_tools::tasks::{OutputArgs, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::Tool;
use clap::Parser;

/// Lists the apps (name and directory) or the tasks (id and directory) of the repository,
/// sorted by name; with targets (app names, app directories, or for tasks any task target),
/// only those.
#[derive(Parser)]
#[command(name = "task_ls", version, after_help = help())]
struct Args {
    /// What to list: apps or tasks.
    #[arg(default_value = "apps")]
    what: String,
    /// Apps or tasks to list (default: all).
    targets: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    quiet: QuietArg,
    /// Columns, comma separated: name, path (apps) or task-id, path (tasks); default: all.
    #[arg(short, long)]
    fields: Option<String>,
    /// Show absolute instead of relative paths.
    #[arg(long = "abs-path")]
    abs_path: bool,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n\n\
         Exit status:\n  0  listed\n  1  usage error, or an unknown app\n  2  a configuration that cannot be right"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let tool = Tool::new(baur::name("task_ls"));
    ci3_tools::run(tool.name, || {
        let (repo, cwd) = args.repo.open_quiet(&tool, args.quiet.quiet)?;
        let path = |dir: &str| {
            if args.abs_path {
                repo.app_path(dir).display().to_string()
            } else {
                dir.to_string()
            }
        };
        let (all, rows): (&[Column], Vec<Vec<String>>) = match args.what.as_str() {
            "apps" => {
                // As in the original, apps are named or given by directory: a task target
                // (`APP.TASK`, a wildcard) names no app.
                if let Some(t) = args.targets.iter().find(|t| {
                    t.contains(['.', '*'])
                        && !cwd.join(t).is_dir()
                        && !repo.apps.iter().any(|a| &a.name == *t)
                }) {
                    ci3::fail!(Usage, "{t}: not an app name or an app directory");
                }
                let mut apps: Vec<&App> = if args.targets.is_empty() {
                    repo.apps.iter().collect()
                } else {
                    repo.select(&cwd, &args.targets)?
                        .iter()
                        .map(|t| t.app)
                        .collect()
                };
                apps.dedup_by(|a, b| a.name == b.name);
                (
                    &[APP, PATH],
                    apps.iter()
                        .map(|a| vec![a.name.clone(), path(&a.dir)])
                        .collect(),
                )
            }
            "tasks" => (
                &[TASK_ID, PATH],
                repo.select(&cwd, &args.targets)?
                    .iter()
                    .map(|t| vec![t.id(), path(&t.app.dir)])
                    .collect(),
            ),
            other => ci3::fail!(Usage, "{other}: expected apps or tasks"),
        };
        let columns = match &args.fields {
            Some(f) => table::pick(all, f)?,
            None => all.to_vec(),
        };
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|row| {
                columns
                    .iter()
                    .map(|c| row[all.iter().position(|a| a == c).unwrap_or(0)].clone())
                    .collect()
            })
            .collect();
        let format = args.output.format();
        if format == Format::Json && baur::invoked_as().is_some() {
            // baur's keys are its headers (`Name`, `Path`) since 3.4's "align json implementation".
            let keys: Vec<&str> = columns.iter().map(|c| c.header).collect();
            print!("{}", baur::format::json(&keys, &rows));
            return Ok(0);
        }
        print!(
            "{}",
            table::render(format, &columns, &rows, !args.quiet.quiet)
        );
        Ok(0)
    })
}
