//! `task_status [TARGET...]`: whether each task has a recorded run for its current inputs.

use ci3::tasks::format::{self, Column, Format};
use ci3::tasks::status::Status;
use ci3::tasks::targets::select;
use ci3_tools::tasks::TASK_ENV;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Lists tasks with their status: Exist (a successful run with the same total input digest is
/// recorded), Pending (none is) or Inputs Undefined (the task declares no inputs). Targets:
/// APP.TASK, APP, APP.*, *.TASK, *, or an app directory; none means all tasks.
#[derive(Parser)]
#[command(name = "task_status", version, after_help = help())]
struct Args {
    /// Tasks to show (default: all).
    targets: Vec<String>,
    /// Output format: plain, csv or json.
    #[arg(long, default_value = "plain")]
    format: Format,
    /// Same as --format csv.
    #[arg(short = 'c', long)]
    csv: bool,
    /// No header line.
    #[arg(short, long)]
    quiet: bool,
    /// Columns, comma separated: app-name, task-id, path, run-id, status, git-commit.
    #[arg(short, long, default_value = "task-id,path,status,run-id,git-commit")]
    fields: String,
    /// Only tasks with this status: exist, pending or undefined.
    #[arg(short, long)]
    status: Option<String>,
    /// A string that counts as an input of every task (repeatable).
    #[arg(long = "input-str")]
    input_str: Vec<String>,
    /// When no run is found, look again with the input strings replaced by this one.
    #[arg(long = "lookup-input-str")]
    lookup_input_str: Option<String>,
    /// The repository (default: the nearest directory upwards holding .baur.toml).
    #[arg(long)]
    repository: Option<std::path::PathBuf>,
}

const COLUMNS: &[Column] = &[
    Column {
        field: "app-name",
        header: "App Name",
        key: "AppName",
    },
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
    Column {
        field: "run-id",
        header: "Run ID",
        key: "RunID",
    },
    Column {
        field: "status",
        header: "Status",
        key: "Status",
    },
    Column {
        field: "git-commit",
        header: "Git Commit",
        key: "GitCommit",
    },
];

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  listed\n  1  usage, configuration or resolution error (one line naming file and field, or the target)\n  \
         2  a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("task_status");
    ci3_tools::tasks::run(tool.name, || {
        let columns = format::pick(COLUMNS, &args.fields).map_err(anyhow::Error::msg)?;
        let wanted = match args.status.as_deref() {
            None => None,
            Some("exist") => Some(Status::Exist),
            Some("pending") => Some(Status::Pending),
            Some("undefined") | Some("inputs-undefined") => Some(Status::InputsUndefined),
            Some(s) => anyhow::bail!("--status {s}: expected exist, pending or undefined"),
        };
        let format = if args.csv { Format::Csv } else { args.format };
        let cwd = std::env::current_dir()?;
        let start = ci3_tools::tasks::start_dir(args.repository.as_deref())?;
        let repo = ci3_tools::tasks::open(&tool, &start)?;
        let tasks = select(&repo.root, &cwd, &repo.apps, &args.targets)?;
        let selected = tool.store();
        let statuses = ci3_tools::tasks::statuses(
            &tool,
            &repo,
            &selected,
            &tasks,
            &args.input_str,
            args.lookup_input_str.as_deref(),
        )?;
        let rows: Vec<Vec<String>> = statuses
            .iter()
            .filter(|s| wanted.is_none_or(|w| w == s.status))
            .map(|s| {
                columns
                    .iter()
                    .map(|c| match c.field {
                        "app-name" => s.task.app.name.clone(),
                        "task-id" => s.task.id(),
                        "path" => s.task.app.dir.clone(),
                        "run-id" => s.run.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
                        "status" => s.status.to_string(),
                        _ => s
                            .run
                            .as_ref()
                            .and_then(|r| r.git_commit.clone())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .collect();
        print!("{}", format::render(format, &columns, &rows, !args.quiet));
        Ok(0)
    })
}
