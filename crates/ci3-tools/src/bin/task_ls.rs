//! `task_ls [apps|tasks]`: the apps or tasks of the repository.

use ci3::tasks::format::{self, Column, Format};
use ci3::tasks::targets::select;
use ci3_tools::tasks::TASK_ENV;
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
    /// Output format: plain, csv or json.
    #[arg(long, default_value = "plain")]
    format: Format,
    /// No header line.
    #[arg(short, long)]
    quiet: bool,
    /// The repository (default: the nearest directory upwards holding .baur.toml).
    #[arg(long)]
    repository: Option<std::path::PathBuf>,
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
        let start = ci3_tools::tasks::start_dir(args.repository.as_deref())?;
        let repo = ci3_tools::tasks::open(&tool, &start)?;
        let (columns, rows): (Vec<Column>, Vec<Vec<String>>) = match args.what.as_str() {
            "apps" => (
                vec![
                    Column {
                        field: "name",
                        header: "Name",
                        key: "Name",
                    },
                    Column {
                        field: "path",
                        header: "Path",
                        key: "Path",
                    },
                ],
                repo.apps
                    .iter()
                    .map(|a| vec![a.name.clone(), a.dir.clone()])
                    .collect(),
            ),
            "tasks" => (
                vec![
                    Column {
                        field: "task-id",
                        header: "Task ID",
                        key: "TaskID",
                    },
                    Column {
                        field: "path",
                        header: "Path",
                        key: "Path",
                    },
                ],
                select(&repo.root, &start, &repo.apps, &[])?
                    .iter()
                    .map(|t| vec![t.id(), t.app.dir.clone()])
                    .collect(),
            ),
            other => anyhow::bail!("{other}: expected apps or tasks"),
        };
        print!(
            "{}",
            format::render(args.format, &columns, &rows, !args.quiet)
        );
        Ok(0)
    })
}
