//! Running tasks: the command without a shell in the app dir, several at once, then its outputs
//! checked, digested, stored and sent to their destinations, and the run recorded (a failure
//! too, so that it is never taken for a success).
//!
//! Children start through [`crate::process`], each in a process group of its own: SIGINT or
//! SIGTERM to the runner reaches every task's whole group, no task starts after it, and the
//! runner ends with the signal's status once its tasks have stopped.

mod child;
pub mod docker;
pub(crate) mod hashing;
mod outputs;
mod schedule;
mod task_info;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::config::TaskRef;
use super::inputs::{Resolved, Resolver};
use super::records::{self, Record, RunResult};
use super::status::TaskStatus;
use crate::process;
use crate::report::Reporter;
use crate::settings::Settings;
use crate::store::Store;
use crate::Result;

/// How long a task's group has to end after the runner is signalled before it is killed.
const GRACE: Duration = Duration::from_secs(10);

/// How to run.
pub struct Options<'a> {
    /// Tasks run at once.
    pub parallel: usize,
    /// After a failure, start no more tasks.
    pub fail_fast: bool,
    /// Hand each line a task prints to the reporter's `output`.
    pub show_output: bool,
    /// Neither store nor upload outputs, nor record the run.
    pub skip_upload: bool,
    pub git_commit: Option<String>,
    pub git_dirty: bool,
    /// The canonical repository root.
    pub root: &'a Path,
    pub settings: &'a Settings,
    pub store: &'a dyn Store,
    /// Signs the records written and checks those read.
    pub trust: &'a crate::trust::Trust,
    /// The inputs of the tasks TaskInfos inputs name (resolved once, whether they run or not),
    /// and of each task that waited for others, resolved again once they are done.
    pub resolver: &'a Resolver<'a>,
    /// Run every task, even one whose inputs turn out recorded once its upstream tasks ran.
    pub force: bool,
    /// Restores a recorded run's outputs (`task_run --restore`): a task whose inputs turn out
    /// recorded once its upstream tasks ran gets them instead of being run. A callback, since
    /// restoring is its own module, which uses this one.
    pub restore: Option<&'a Restore<'a>>,
    /// `--trace`: each command runs under the tracer, what it touched kept here.
    pub trace: Option<&'a dyn Tracer>,
}

/// Runs a task's command in place of a plain spawn (`--trace`: [`crate::trace::Tasks`]).
pub trait Tracer: Sync {
    /// Runs what `cmd` describes (program, arguments, environment, directory), its stdout and
    /// stderr to `out`, as task `id`, to its end: its pid and exit code (128+N for signal N).
    fn run(
        &self,
        id: &str,
        cmd: &std::process::Command,
        out: &std::os::fd::OwnedFd,
    ) -> Result<(process::Pid, i32)>;
}

/// Fetches the outputs of the run that makes a task `Exist` into its app directory.
pub type Restore<'a> = dyn Fn(&TaskStatus<'_>) -> Result<()> + Sync + 'a;

/// What happened to one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success {
        id: Option<String>,
    },
    Failure {
        id: Option<String>,
        why: String,
    },
    /// Not started: an earlier task failed and `fail_fast` was set, or the runner was signalled.
    Skipped,
}

/// Has [`crate::process`] take SIGINT, SIGTERM and SIGHUP over now, on the calling thread. Call
/// it first thing, before any thread starts: the process module takes the signals over at its
/// first spawn and only on the spawning thread, so a first spawn from a worker would leave the
/// main thread to die of the signal with the tasks' groups still running. The first spawn is
/// what installs the forwarding, so this spawns `true`.
pub fn take_signals() -> Result<()> {
    if let Some(pid) = process::spawn(std::process::Command::new("true"), process::Group::Own)? {
        process::wait(Some(pid))?;
    }
    Ok(())
}

/// Runs `tasks`, `parallel` at a time, each once every task it depends on succeeded
/// (`upstream[i]`: the indices of those `tasks[i]` waits for); a task whose upstream failed is
/// skipped. Returns each task's outcome in the same order. Progress goes to `reporter` as notes
/// `ID: line`, the tasks' own lines as its `output`.
pub fn run_all(
    tasks: &[TaskStatus<'_>],
    upstream: &[Vec<usize>],
    opts: &Options<'_>,
    reporter: &dyn Reporter,
) -> Vec<Outcome> {
    // Outputs may have been restored since the statuses were evaluated.
    opts.resolver.files_changed();
    let schedule = schedule::Schedule::new(upstream);
    let failed = AtomicBool::new(false);
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let skip = |b: usize, a: usize, a_failed: bool| {
        let why = if a_failed { "failed" } else { "was not run" };
        reporter.note(&format!(
            "{}: skipped (upstream {} {why})",
            tasks[b].task.id(),
            tasks[a].task.id()
        ));
    };
    // A task that ignores the forwarded signal must not keep the runner from ending. Not a
    // scoped thread: its sleep, which only a signal cuts short, would hold every run up to
    // 200 ms past its last task; it sees `done` at its next wake and ends then.
    let watching = std::sync::Arc::clone(&done);
    std::thread::spawn(move || {
        while !watching.load(Ordering::SeqCst) {
            if !process::sleep(Duration::from_millis(200)) {
                process::terminate_all(GRACE);
                break;
            }
        }
    });
    let (sched, failed, skip) = (&schedule, &failed, &skip);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..opts.parallel.clamp(1, tasks.len().max(1)))
            .map(|_| {
                s.spawn(move || {
                    while let Some(i) = sched.next() {
                        let t = &tasks[i];
                        let say = |line: &str| reporter.note(&format!("{}: {line}", t.task.id()));
                        let step = if let Some(signal) = process::interrupted() {
                            say(&format!("execution skipped: interrupted by signal {signal}"));
                            Step::Done(Outcome::Skipped)
                        } else if opts.fail_fast && failed.load(Ordering::SeqCst) {
                            say("execution skipped: a previous task failed and --fail-fast was given");
                            Step::Done(Outcome::Skipped)
                        } else {
                            when_ready(t, !upstream[i].is_empty(), opts, reporter)
                        };
                        let end = move |outcome: Outcome| {
                            // Before its downstream tasks start: they read what it wrote.
                            opts.resolver.files_changed();
                            if matches!(outcome, Outcome::Failure { .. }) {
                                failed.store(true, Ordering::SeqCst);
                            }
                            sched.done(i, outcome, skip);
                        };
                        match step {
                            Step::Done(outcome) => end(outcome),
                            // Storing the outputs and writing the record wait on the disk or
                            // the network: the worker starts the next ready task meanwhile,
                            // the downstream tasks still start once the run is recorded.
                            // With --fail-fast a failure stops the next start: finished here.
                            Step::Ran(ran) if opts.fail_fast => {
                                end(finish(t, *ran, opts, reporter))
                            }
                            Step::Ran(ran) => {
                                s.spawn(move || end(finish(t, *ran, opts, reporter)));
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
        done.store(true, Ordering::SeqCst);
    });
    schedule.outcomes()
}

/// How far a worker took a task: to its end, or through its command, its outputs left to
/// store and its run to record ([`finish`]).
enum Step<'r> {
    Done(Outcome),
    Ran(Box<Ran<'r>>),
}

/// A task whose command ended.
struct Ran<'r> {
    resolved: std::borrow::Cow<'r, Resolved>,
    run_id: String,
    start: u64,
    stop: u64,
    exit_code: Option<i32>,
    error: Option<String>,
}

/// Runs a task whose upstream tasks are done. One that waited for others has its inputs
/// resolved now, from the outputs they left, and is not run when a successful run with those
/// inputs is recorded (unless forced).
fn when_ready<'r>(
    t: &'r TaskStatus<'_>,
    waited: bool,
    opts: &Options<'_>,
    reporter: &dyn Reporter,
) -> Step<'r> {
    if !waited {
        return execute(t, std::borrow::Cow::Borrowed(&t.resolved), opts, reporter);
    }
    let id = t.task.id();
    let say = |line: &str| reporter.note(&format!("{id}: {line}"));
    opts.resolver.forget(&id);
    let resolved = match opts.resolver.resolve(t.task) {
        Ok(r) => r,
        Err(e) => {
            let why = e.to_string();
            say(&format!("execution failed, {why}"));
            return Step::Done(Outcome::Failure { id: None, why });
        }
    };
    if !opts.force && t.task.task.declares_inputs() {
        let (app, name) = (&t.task.app.name, &t.task.task.name);
        match records::find_success(opts.store, opts.trust, app, name, &resolved.total) {
            Ok(lookup) => {
                if let Some(found) = lookup.found {
                    return Step::Done(recorded(t, resolved, found, opts, reporter));
                }
            }
            Err(e) => {
                let why = e.to_string();
                say(&format!("execution failed, {why}"));
                return Step::Done(Outcome::Failure { id: None, why });
            }
        }
    }
    execute(t, std::borrow::Cow::Owned(resolved), opts, reporter)
}

/// A task whose inputs, once its upstream tasks ran, have a recorded successful run: not run,
/// its outputs restored when asked.
fn recorded(
    t: &TaskStatus<'_>,
    resolved: Resolved,
    found: records::Found,
    opts: &Options<'_>,
    reporter: &dyn Reporter,
) -> Outcome {
    let id = t.task.id();
    let say = |line: &str| reporter.note(&format!("{id}: {line}"));
    say(&format!(
        "inputs after its upstream tasks ran are those of run {}: not run",
        found.id
    ));
    let run_id = found.id.clone();
    if let Some(restore) = opts.restore {
        let exist = TaskStatus {
            task: t.task,
            status: super::status::Status::Exist,
            resolved,
            run: Some(found),
            refused: Vec::new(),
            waits_on: Vec::new(),
        };
        if let Err(e) = restore(&exist) {
            let why = format!("restoring outputs failed: {e}");
            say(&why);
            return Outcome::Failure { id: None, why };
        }
    }
    Outcome::Success { id: Some(run_id) }
}

/// `1.234s`.
pub fn seconds(us: u64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

/// Runs the task's command.
fn execute<'r>(
    t: &TaskStatus<'_>,
    resolved: std::borrow::Cow<'r, Resolved>,
    opts: &Options<'_>,
    reporter: &dyn Reporter,
) -> Step<'r> {
    let id = t.task.id();
    let say = |line: &str| reporter.note(&format!("{id}: {line}"));
    let start = crate::clock::now_micros();
    let run_id = match records::new_run_id(start) {
        Ok(r) => r,
        Err(e) => {
            return Step::Done(Outcome::Failure {
                id: None,
                why: e.to_string(),
            })
        }
    };
    let app_dir = opts.root.join(&t.task.app.dir);
    // The TaskInfos files' directory only for a task that has them: it is two syscalls and
    // a directory listing more per task.
    let executed = if t.task.task.inputs.task_infos.is_empty() {
        child::execute(t.task, &app_dir, opts, &[], reporter)
    } else {
        tempfile::tempdir()
            .map_err(crate::Error::from)
            .and_then(|dir| {
                let env = task_info::files(t.task, opts, dir.path())?;
                let r = child::execute(t.task, &app_dir, opts, &env, reporter);
                drop(dir);
                r
            })
    };
    let stop = crate::clock::now_micros();
    let (exit_code, error) = match executed {
        Ok(0) => (Some(0), None),
        Ok(code) => (Some(code), Some(format!("command exited with code {code}"))),
        Err(e) => (None, Some(e.to_string())),
    };
    match &error {
        None => say(&format!("execution successful ({})", seconds(stop - start))),
        Some(why) => say(&format!(
            "execution failed ({}), {why}",
            seconds(stop - start)
        )),
    }
    Step::Ran(Box::new(Ran {
        resolved,
        run_id,
        start,
        stop,
        exit_code,
        error,
    }))
}

/// Checks and stores the outputs of a task whose command ended, and records the run.
fn finish(
    t: &TaskStatus<'_>,
    ran: Ran<'_>,
    opts: &Options<'_>,
    reporter: &dyn Reporter,
) -> Outcome {
    let Ran {
        resolved,
        run_id,
        start,
        stop,
        exit_code,
        mut error,
    } = ran;
    let id = t.task.id();
    let say = |line: &str| reporter.note(&format!("{id}: {line}"));
    let app_dir = opts.root.join(&t.task.app.dir);
    let mut stored = Vec::new();
    if error.is_none() {
        match outputs::check(t.task, &app_dir, &say) {
            Ok(found) => {
                if !opts.skip_upload {
                    for (name, path) in found {
                        match outputs::store(t.task, opts, &name, &path, &say) {
                            Ok(o) => stored.push(o),
                            Err(e) => {
                                error = Some(format!("{name}: {e}"));
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => error = Some(e.to_string()),
        }
        if let Some(why) = &error {
            say(&format!("run failed: {why}"));
        }
    }
    let result = if error.is_none() {
        RunResult::Success
    } else {
        RunResult::Failure
    };
    if opts.skip_upload {
        return match error {
            None => Outcome::Success { id: None },
            Some(why) => Outcome::Failure { id: None, why },
        };
    }
    let record = Record {
        id: run_id.clone(),
        app: t.task.app.name.clone(),
        task: t.task.task.name.clone(),
        app_dir: t.task.app.dir.clone(),
        total_digest: resolved.total,
        inputs: resolved.inputs.clone(),
        outputs: stored,
        start_us: start,
        stop_us: stop,
        result,
        exit_code,
        error: error.clone(),
        git_commit: opts.git_commit.clone(),
        git_dirty: opts.git_dirty,
        host: opts.settings.hostname.clone().or_else(hostname),
    };
    if let Err(e) = records::write(opts.store, opts.trust, &record) {
        let why = format!("recording the run failed: {e}");
        say(&why);
        return Outcome::Failure { id: None, why };
    }
    match error {
        None => {
            say(&format!("run stored with ID {run_id}"));
            Outcome::Success { id: Some(run_id) }
        }
        Some(why) => {
            say(&format!("failed run recorded with ID {run_id}"));
            Outcome::Failure {
                id: Some(run_id),
                why,
            }
        }
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// The task `TaskRef` of another task of `t`'s app, by name.
fn sibling<'a>(t: TaskRef<'a>, name: &str) -> Option<TaskRef<'a>> {
    let task = t.app.tasks.iter().find(|x| x.name == name)?;
    Some(TaskRef { app: t.app, task })
}
