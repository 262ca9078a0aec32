//! `task_run [TARGET...]`: run the tasks whose inputs have no recorded successful run.

use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

use ci3::git::FileIds;
use ci3::tasks::inputs::Resolver;
use ci3::tasks::run::{run_all, seconds, Events, Options, Outcome};
use ci3::tasks::status::{evaluate, Status};
use ci3::tasks::targets::TaskRef;
use ci3_tools::tasks::{LookupArgs, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Runs every Pending and Inputs Undefined task (with --force: every task) of the targets;
/// the command runs without a shell in the app directory. After success every declared output
/// must exist; outputs are stored in the store, copied and uploaded where configured, and the
/// run is recorded in the store (a failure too). Progress goes to stderr, task output (-o) to
/// stdout, each line prefixed with the task id.
#[derive(Parser)]
#[command(name = "task_run", version, after_help = help())]
struct Args {
    /// Tasks to run (default: all).
    targets: Vec<String>,
    /// How many tasks run at once.
    #[arg(short = 'p', long = "parallel-runs", default_value_t = 1)]
    parallel: usize,
    /// After a failure, start no more tasks.
    #[arg(long = "fail-fast")]
    fail_fast: bool,
    /// Show the output of the tasks as they run.
    #[arg(short = 'o', long = "show-task-output")]
    show_output: bool,
    /// Refuse to run when the git work tree has modified or untracked files.
    #[arg(short = 'c', long = "require-clean-git-worktree")]
    clean: bool,
    /// Neither store nor upload outputs, nor record the runs.
    #[arg(short = 's', long = "skip-upload")]
    skip_upload: bool,
    /// Run tasks whatever their status.
    #[arg(short = 'f', long)]
    force: bool,
    /// For a task whose status is Exist, fetch the outputs of that run into the app directory
    /// instead of running it.
    #[arg(long, conflicts_with = "force")]
    restore: bool,
    #[command(flatten)]
    lookup: LookupArgs,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n  HOSTNAME                   recorded with each run\n{STORE_ENV}\n\n\
         Exit status:\n  0  every task that ran succeeded\n  1  a task failed, or a usage, configuration or resolution error\n  \
         2  a store configuration that cannot be right"
    )
}

struct Lines;

impl Events for Lines {
    fn progress(&self, task: &str, line: &str) {
        eprintln!("{task}: {line}");
    }
    fn output(&self, task: &str, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{task}: {line}");
    }
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("task_run");
    ci3_tools::run(tool.name, || {
        if args.parallel == 0 {
            ci3::fail!(Failed, "--parallel-runs must be greater than 0");
        }
        let started = Instant::now();
        let (repo, cwd) = args.repo.open(&tool)?;
        let tasks = repo.select(&cwd, &args.targets)?;
        let selected = tool.store();
        let store = selected.store.as_ref();
        let co = repo.checkout(&tool.settings)?;
        let dirty = ci3::git::dirty_paths(&co)?;
        if args.clean {
            ci3_tools::tasks::require_clean(&dirty)?;
        }
        if args.skip_upload {
            tool.say(
                "--skip-upload was passed, outputs won't be uploaded and task runs not recorded",
            );
        }
        let resolver = Resolver::new(
            &repo.root,
            &tool.settings,
            FileIds::open(&co)?,
            &args.lookup.input_str.input_str,
        );
        eprintln!("Evaluating status of tasks:\n");
        let statuses = evaluate(
            &resolver,
            store,
            &selected.trust,
            &tasks,
            args.lookup.lookup_input_str.as_deref(),
        )?;
        let width = statuses
            .iter()
            .map(|s| s.task.id().len())
            .max()
            .unwrap_or(0);
        for s in &statuses {
            for why in &s.refused {
                tool.say(&format!("{}: {why}", s.task.id()));
            }
            match &s.run {
                Some(run) => eprintln!("{:<width$} => {} ({})", s.task.id(), s.status, run.id),
                None => eprintln!("{:<width$} => {}", s.task.id(), s.status),
            }
        }
        let total = statuses.len();
        let mut restore_failed = 0;
        if args.restore {
            for s in statuses.iter().filter(|s| s.status == Status::Exist) {
                if let Err(e) = ci3_tools::tasks::restore(&tool, &selected, &repo.root, s) {
                    tool.say(&format!("restoring outputs failed: {e:#}"));
                    restore_failed += 1;
                }
            }
        }
        let to_run: Vec<_> = statuses
            .into_iter()
            .filter(|s| args.force || s.status != Status::Exist)
            .collect();
        let mut digests = HashMap::new();
        for s in &to_run {
            for info in &s.task.task.inputs.task_infos {
                if let Some(task) = s.task.app.tasks.iter().find(|t| t.name == info.task_name) {
                    let other = TaskRef {
                        app: s.task.app,
                        task,
                    };
                    digests.insert(other.id(), resolver.resolve(other)?.total);
                }
            }
        }
        eprintln!("{}", "-".repeat(80));
        let statuses_run = if args.force {
            "Pending, Inputs Undefined, Exist"
        } else {
            "Pending, Inputs Undefined"
        };
        eprintln!(
            "Running {}/{total} task(s) with status {statuses_run}\n",
            to_run.len()
        );
        let opts = Options {
            parallel: args.parallel,
            fail_fast: args.fail_fast,
            show_output: args.show_output,
            skip_upload: args.skip_upload,
            git_commit: ci3::git::head_commit(&repo.root),
            git_dirty: !dirty.is_empty(),
            root: &repo.root,
            settings: &tool.settings,
            store,
            trust: &selected.trust,
            digests: &digests,
        };
        let outcomes = run_all(&to_run, &opts, &Lines);
        let failed = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Failure { .. }))
            .count()
            + restore_failed;
        let skipped = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Skipped))
            .count();
        eprintln!("{}", "-".repeat(80));
        if failed > 0 || skipped > 0 {
            eprintln!("{failed} task(s) failed, {skipped} skipped");
        }
        eprintln!(
            "finished in: {}",
            seconds(started.elapsed().as_micros() as u64)
        );
        Ok(if failed > 0 || skipped > 0 { 1 } else { 0 })
    })
}
