//! What the task tools share: their common flags, finding and loading the repository, the
//! status of tasks, the environment section of their help, and their presentation (tables,
//! `task_show`'s pages, `baur`'s command line).

pub mod baur;
pub mod runs;
pub mod show;
pub mod table;

use std::path::PathBuf;

use ci3::report::Reporter;
use ci3::tasks::inputs::Resolver;
use ci3::tasks::status::TaskStatus;
use ci3::tasks::targets::TaskRef;
use ci3::tasks::Repo;

use crate::Tool;
use table::Format;

/// `--repository`.
#[derive(clap::Args)]
pub struct RepositoryArg {
    /// The repository (default: the nearest directory upwards holding .baur.toml).
    #[arg(long)]
    pub repository: Option<PathBuf>,
}

impl RepositoryArg {
    /// The repository at or above `--repository` (else the working directory), its notices
    /// said, and the working directory, which targets are relative to.
    pub fn open(&self, tool: &Tool) -> ci3::Result<(Repo, PathBuf)> {
        self.open_quiet(tool, false)
    }

    /// As `open`; with `quiet` (`-q`, a listing read by a script) the notices are not said.
    pub fn open_quiet(&self, tool: &Tool, quiet: bool) -> ci3::Result<(Repo, PathBuf)> {
        let cwd = std::env::current_dir()?;
        let start = match &self.repository {
            Some(dir) => cwd.join(dir),
            None => cwd.clone(),
        };
        let repo = Repo::open(&start, &tool.settings)?;
        for n in repo.notices.iter().filter(|_| !quiet) {
            tool.say(n);
        }
        Ok((repo, cwd))
    }
}

/// `--format`.
#[derive(clap::Args)]
pub struct FormatArg {
    /// Output format: plain, csv or json.
    #[arg(long, default_value = "plain")]
    pub format: Format,
}

/// `--format` and the original's older spelling `--csv`.
#[derive(clap::Args)]
pub struct OutputArgs {
    #[command(flatten)]
    pub format: FormatArg,
    /// Same as --format csv.
    #[arg(long)]
    pub csv: bool,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        if self.csv {
            Format::Csv
        } else {
            self.format.format
        }
    }
}

/// `-q`; what it leaves out differs by tool (`mut_arg("quiet", ...)` says it).
#[derive(clap::Args)]
pub struct QuietArg {
    /// No header line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `--input-str`.
#[derive(clap::Args)]
pub struct InputStrArg {
    /// A string that counts as an input of every task (repeatable).
    #[arg(long = "input-str")]
    pub input_str: Vec<String>,
}

/// `--input-str` and `--lookup-input-str`: the status of tasks.
#[derive(clap::Args)]
pub struct LookupArgs {
    #[command(flatten)]
    pub input_str: InputStrArg,
    /// When no run is found, look again with the input strings replaced by this one.
    #[arg(long = "lookup-input-str")]
    pub lookup_input_str: Option<String>,
}

/// The variables the task tools read, for `--help`.
pub const TASK_ENV: &str = "\
  Every variable is visible to {{ env \"NAME\" }} templates and EnvironmentVariables inputs.
  XDG_CACHE_HOME             where the index offsets are kept ($XDG_CACHE_HOME/ci3)";

/// The variable `task_run --trace` reads, for its `--help`.
pub const TRACE_ENV: &str = "\
  CI3_TRACE_READS            with --trace, how opens are seen: auto (fanotify where permitted,
                             else seccomp notification, else ptrace), fanotify, notify, ptrace";

/// `--require-clean-git-worktree` (when `required`): an error naming the first few of `dirty`.
pub fn require_clean(dirty: &[String], required: bool) -> ci3::Result<()> {
    if !required || dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
    let more = if dirty.len() > 5 {
        format!(" and {} more", dirty.len() - 5)
    } else {
        String::new()
    };
    ci3::fail!(
        Failed,
        "--require-clean-git-worktree: the git work tree has modified or untracked files: {}{more}",
        shown.join(", ")
    )
}

/// The status of each task through the task graph (downstream of a task that is not Exist is
/// Pending), its inputs resolved by `resolver` (one index read for all), each run a trusted
/// reader refuses said on stderr: what every task tool asking for statuses calls.
pub fn statuses<'a>(
    tool: &Tool,
    resolver: &Resolver<'_>,
    selected: &ci3::store::Selected,
    graph: &ci3::tasks::graph::Graph<'a>,
    tasks: &[TaskRef<'a>],
    lookup: &LookupArgs,
) -> ci3::Result<Vec<TaskStatus<'a>>> {
    ci3::tasks::graph::status::evaluate(
        resolver,
        selected.store.as_ref(),
        &selected.trust,
        graph,
        tasks,
        lookup.lookup_input_str.as_deref(),
        tool.reporter.as_ref(),
    )
}

/// What [`ci3::tasks::statuses::of_targets`] needs of the tool and its `--input-str` and
/// `--lookup-input-str`.
pub fn ask<'a>(tool: &'a Tool, lookup: &'a LookupArgs) -> ci3::tasks::statuses::Ask<'a> {
    ci3::tasks::statuses::Ask {
        settings: &tool.settings,
        input_strs: &lookup.input_str.input_str,
        lookup_input_str: lookup.lookup_input_str.as_deref(),
        reporter: tool.reporter.as_ref(),
    }
}

/// Restores the outputs of the run that makes `s` `Exist`, saying what happened on stderr.
pub fn restore(
    tool: &Tool,
    selected: &ci3::store::Selected,
    repo: &Repo,
    s: &TaskStatus<'_>,
) -> ci3::Result<()> {
    let store = selected.store.as_ref();
    let reporter = tool.reporter.as_ref();
    let (trust, settings) = (&selected.trust, &tool.settings);
    ci3::tasks::restore::restore_task(store, trust, settings, &repo.root, s, reporter)?;
    Ok(())
}

/// What `task_run` runs, once each task's status is said (and, with `--restore`, the outputs
/// of those that `Exist` restored).
pub struct Plan<'a> {
    pub to_run: Vec<TaskStatus<'a>>,
    /// Tasks whose restore a signal stopped: each counts as failed.
    pub restore_failed: usize,
}

/// Says each task's status, restores what `--restore` asks for, and keeps the tasks to run:
/// those not `Exist`, those `Exist` whose outputs could not be restored (an object or record
/// gone from the store, or refused), or all with `force`.
pub fn plan<'a>(
    tool: &Tool,
    selected: &ci3::store::Selected,
    repo: &Repo,
    statuses: Vec<TaskStatus<'a>>,
    force: bool,
    restore: bool,
) -> Plan<'a> {
    use ci3::tasks::status::Status;
    let width = statuses
        .iter()
        .map(|s| s.task.id().len())
        .max()
        .unwrap_or(0);
    for s in &statuses {
        match &s.run {
            Some(run) => eprintln!("{:<width$} => {} ({})", s.task.id(), s.status, run.id),
            None if !s.waits_on.is_empty() => eprintln!(
                "{:<width$} => {} (waits on {})",
                s.task.id(),
                s.status,
                s.waits_on.join(", ")
            ),
            None => eprintln!("{:<width$} => {}", s.task.id(), s.status),
        }
    }
    let total = statuses.len();
    let mut restore_failed = 0;
    let mut unrestored = vec![false; total];
    if restore {
        for (i, s) in statuses.iter().enumerate() {
            if s.status != Status::Exist {
                continue;
            }
            let Err(e) = self::restore(tool, selected, repo, s) else {
                continue;
            };
            if ci3::process::interrupted().is_some() {
                // Stopped, not refused: the runner is ending, so nothing runs in its place.
                tool.say(&format!("restoring outputs failed: {e}"));
                restore_failed += 1;
            } else {
                tool.say(&format!(
                    "restoring outputs failed, running the task instead: {e}"
                ));
                unrestored[i] = true;
            }
        }
    }
    let to_run: Vec<_> = statuses
        .into_iter()
        .zip(&unrestored)
        .filter(|(s, &unrestored)| force || unrestored || s.status != Status::Exist)
        .map(|(s, _)| s)
        .collect();
    eprintln!("{}", "-".repeat(80));
    let statuses_run = if force {
        "Pending, Inputs Undefined, Exist"
    } else {
        "Pending, Inputs Undefined"
    };
    let rebuilt = match unrestored.iter().filter(|u| **u).count() {
        0 => String::new(),
        n => format!(", and {n} Exist whose outputs could not be restored"),
    };
    eprintln!(
        "Running {}/{total} task(s) with status {statuses_run}{rebuilt}\n",
        to_run.len()
    );
    Plan {
        to_run,
        restore_failed,
    }
}

/// Says how the run went; the exit code: 0 when every task that ran succeeded, 128+N when a
/// signal stopped the run.
pub fn summary(
    outcomes: &[ci3::tasks::run::Outcome],
    restore_failed: usize,
    started: std::time::Instant,
) -> i32 {
    use ci3::tasks::run::Outcome;
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let failed = count(|o| matches!(o, Outcome::Failure { .. })) + restore_failed;
    let skipped = count(|o| matches!(o, Outcome::Skipped));
    eprintln!("{}", "-".repeat(80));
    if failed > 0 || skipped > 0 {
        eprintln!("{failed} task(s) failed, {skipped} skipped");
    }
    eprintln!(
        "finished in: {}",
        ci3::tasks::run::seconds(started.elapsed().as_micros() as u64)
    );
    if ci3::process::interrupted().is_some() {
        ci3::process::signal_code()
    } else if failed > 0 || skipped > 0 {
        1
    } else {
        0
    }
}

/// `task_run`'s reporter: notes on stderr, the tasks' own lines on stdout.
pub struct TaskLines<'a>(pub &'a Tool);

impl Reporter for TaskLines<'_> {
    fn note(&self, line: &str) {
        self.0.say(line);
    }

    fn output(&self, line: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}
