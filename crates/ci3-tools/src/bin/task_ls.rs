//! `task_ls [apps|tasks]`: the apps or tasks of the repository.

use ci3::tasks::format::{self, Column, APP, PATH, TASK_ID};
use ci3_tools::tasks::{FormatArg, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::Tool;
use clap::Parser;

/// Lists the apps (name and directory) or the tasks (id and directory) of the repository,
/// sorted by name.
#[derive(Parser)]
#[command(name = "task_ls", version, after_help = help())]
struct Args {
    /// What to list: apps or tasks.
    #[arg(default_value = "apps")]
    what: String,
    #[command(flatten)]
    format: FormatArg,
    #[command(flatten)]
    quiet: QuietArg,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n\n\
         Exit status:\n  0  listed\n  1  usage or configuration error"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("task_ls");
    ci3_tools::tasks::run(tool.name, || {
        let (repo, cwd) = args.repo.open(&tool)?;
        let (columns, rows): (&[Column], Vec<Vec<String>>) = match args.what.as_str() {
            "apps" => (
                &[APP, PATH],
                repo.apps
                    .iter()
                    .map(|a| vec![a.name.clone(), a.dir.clone()])
                    .collect(),
            ),
            "tasks" => (
                &[TASK_ID, PATH],
                repo.select(&cwd, &[])?
                    .iter()
                    .map(|t| vec![t.id(), t.app.dir.clone()])
                    .collect(),
            ),
            other => anyhow::bail!("{other}: expected apps or tasks"),
        };
        print!(
            "{}",
            format::render(args.format.format, columns, &rows, !args.quiet.quiet)
        );
        Ok(0)
    })
}
