//! `task_run [TARGET...]`: run the tasks whose inputs have no recorded successful run.

use ci3::tasks::inputs::Resolver;
use ci3::tasks::run::{self, Options};
use ci3::tasks::status::TaskStatus;
use ci3_tools::tasks::baur;
use ci3_tools::tasks::{LookupArgs, RepositoryArg, TaskLines, TASK_ENV, TRACE_ENV};
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
    /// instead of running it; a task whose outputs cannot be restored (an object or record gone
    /// from the store, or refused) is run, and the reason said on stderr.
    #[arg(long, conflicts_with = "force")]
    restore: bool,
    #[command(flatten)]
    lookup: LookupArgs,
    #[command(flatten)]
    repo: RepositoryArg,
    #[command(flatten)]
    trace: ci3_tools::trace::TraceArgs,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n  HOSTNAME                   recorded with each run\n{TRACE_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  every task that ran succeeded\n  1  a task failed, or a usage or resolution error\n  \
         2  a configuration that cannot be right (.baur.toml, .app.toml, the store)\n  \
         128+N  stopped by signal N (143: SIGTERM), every task's process group stopped first"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let tool = Tool::new(baur::name("task_run"));
    ci3_tools::run(tool.name, || {
        // Before any thread starts: a signal must reach the tasks, not end this process.
        run::take_signals()?;
        if args.parallel == 0 {
            ci3::fail!(Usage, "--parallel-runs must be greater than 0");
        }
        let started = std::time::Instant::now();
        let (repo, cwd) = args.repo.open(&tool)?;
        let tasks = repo.select(&cwd, &args.targets)?;
        let graph = ci3::tasks::graph::Graph::build(&repo)?;
        let selected = tool.store();
        let co = repo.checkout(&tool.settings)?;
        let dirty = ci3::git::dirty_paths(&co)?;
        ci3_tools::tasks::require_clean(&dirty, args.clean)?;
        if args.skip_upload {
            tool.say(
                "--skip-upload was passed, outputs won't be uploaded and task runs not recorded",
            );
        }
        let strs = &args.lookup.input_str.input_str;
        let resolver = Resolver::open(&repo.root, &co, &tool.settings, strs)?;
        eprintln!("Evaluating status of tasks:\n");
        let statuses =
            ci3_tools::tasks::statuses(&tool, &resolver, &selected, &graph, &tasks, &args.lookup)?;
        let plan =
            ci3_tools::tasks::plan(&tool, &selected, &repo, statuses, args.force, args.restore);
        let restore = |s: &TaskStatus<'_>| ci3_tools::tasks::restore(&tool, &selected, &repo, s);
        let traces = args.trace.tasks(&repo.root);
        let opts = Options {
            parallel: args.parallel,
            fail_fast: args.fail_fast,
            show_output: args.show_output,
            skip_upload: args.skip_upload,
            git_commit: ci3::git::head_commit(&repo.root),
            git_dirty: !dirty.is_empty(),
            root: &repo.root,
            settings: &tool.settings,
            store: selected.store.as_ref(),
            trust: &selected.trust,
            resolver: &resolver,
            force: args.force,
            restore: args.restore.then_some(&restore),
            trace: traces.as_ref().map(|t| t as _),
        };
        let upstream = graph.restricted_to(plan.to_run.iter().map(|s| s.task.id()));
        let outcomes = run::run_all(&plan.to_run, &upstream, &opts, &TaskLines(&tool));
        let code = ci3_tools::tasks::summary(&outcomes, plan.restore_failed, started);
        let trace = &args.trace;
        Ok(ci3_tools::trace::finish(
            &tool,
            trace,
            traces,
            &plan.to_run,
            code,
        ))
    })
}
