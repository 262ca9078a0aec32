//! `task_status [TARGET...]`: whether each task has a recorded run for its current inputs.

use ci3::tasks::inputs::Resolver;
use ci3::tasks::status::Status;
use ci3_tools::tasks::baur;
use ci3_tools::tasks::table::{self, Column, APP_NAME, GIT_COMMIT, PATH, RUN_ID, STATUS, TASK_ID};
use ci3_tools::tasks::{LookupArgs, OutputArgs, QuietArg, RepositoryArg, TASK_ENV};
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
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    quiet: QuietArg,
    /// Columns, comma separated: app-name, task-id, path, run-id, status, git-commit.
    #[arg(short, long, default_value = "task-id,path,run-id,status,git-commit")]
    fields: String,
    /// Only tasks with this status: exist, pending or undefined.
    #[arg(short, long)]
    status: Option<String>,
    /// Show absolute instead of relative paths.
    #[arg(long = "abs-path")]
    abs_path: bool,
    /// Refuse when the git work tree has modified or untracked files.
    #[arg(short = 'c', long = "require-clean-git-worktree")]
    clean: bool,
    #[command(flatten)]
    lookup: LookupArgs,
    #[command(flatten)]
    repo: RepositoryArg,
}

const COLUMNS: &[Column] = &[APP_NAME, TASK_ID, PATH, RUN_ID, STATUS, GIT_COMMIT];

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  listed\n  1  usage or resolution error (one line naming the target, file or input)\n  \
         2  a configuration that cannot be right (one line naming file and field, or the variable)"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let tool = Tool::new(baur::name("task_status"));
    ci3_tools::run(tool.name, || {
        let columns = table::pick(COLUMNS, &args.fields)?;
        let wanted = match args.status.as_deref().map(str::to_lowercase).as_deref() {
            None => None,
            Some("exist") => Some(Status::Exist),
            Some("pending") => Some(Status::Pending),
            Some("undefined") | Some("inputs-undefined") => Some(Status::InputsUndefined),
            Some(s) => ci3::fail!(Usage, "--status {s}: expected exist, pending or undefined"),
        };
        let format = args.output.format();
        let (repo, cwd) = args.repo.open_quiet(&tool, args.quiet.quiet)?;
        let tasks = repo.select(&cwd, &args.targets)?;
        let graph = ci3::tasks::graph::Graph::build(&repo)?;
        let co = repo.checkout(&tool.settings)?;
        if args.clean {
            ci3_tools::tasks::require_clean(&ci3::git::dirty_paths(&co)?, true)?;
        }
        let selected = tool.store();
        let strs = &args.lookup.input_str.input_str;
        let resolver = Resolver::open(&repo.root, &co, &tool.settings, strs)?;
        let statuses =
            ci3_tools::tasks::statuses(&tool, &resolver, &selected, &graph, &tasks, &args.lookup)?;
        let shown: Vec<_> = statuses
            .iter()
            .filter(|s| wanted.is_none_or(|w| w == s.status))
            .collect();
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|s| {
                columns
                    .iter()
                    .map(|c| match *c {
                        APP_NAME => s.task.app.name.clone(),
                        TASK_ID => s.task.id(),
                        PATH if args.abs_path => {
                            repo.app_path(&s.task.app.dir).display().to_string()
                        }
                        PATH => s.task.app.dir.clone(),
                        RUN_ID => s.run.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
                        STATUS => s.status.to_string(),
                        _ => s
                            .run
                            .as_ref()
                            .and_then(|r| r.git_commit.clone())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .collect();
        // baur 4's `--format csv` has a header row (unless -q); the older `--csv` had none.
        if format == table::Format::Csv && !args.output.csv && !args.quiet.quiet {
            print!("{}", table::csv_header(&columns));
        }
        let mut text = table::render(format, &columns, &rows, !args.quiet.quiet);
        if format == table::Format::Json {
            let waits = shown
                .iter()
                .map(|s| serde_json::json!(s.waits_on))
                .collect();
            text = table::json_with(&text, "WaitsOn", waits);
        }
        print!("{text}");
        Ok(0)
    })
}
