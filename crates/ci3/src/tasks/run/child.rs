//! A task's command as a child process: started through the process module in a group of its
//! own, its stdout and stderr read line by line, shown as it goes or after a failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Options;
use crate::process;
use crate::report::Reporter;
use crate::tasks::config::TaskRef;
use crate::Result;

/// Runs the command to its end: its exit code (128+N for a command killed by signal N).
pub(super) fn execute(
    t: TaskRef<'_>,
    app_dir: &Path,
    opts: &Options<'_>,
    env: &[(String, PathBuf)],
    reporter: &dyn Reporter,
) -> Result<i32> {
    let id = t.id();
    let argv = &t.task.command;
    // One pipe for both streams: the lines keep the order the command wrote them in.
    let (read, write) = process::pipe()?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(app_dir)
        .env_clear()
        .envs(opts.settings.vars())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    // --trace: the tracer starts the command itself, as `cmd` says (ptrace answers its parent).
    if let Some(tasks) = opts.trace {
        // The closure owns the write end: the pump sees EOF once the traced command has ended.
        return pumped(t, opts, reporter, read, move || {
            tasks.run(&id, &cmd, &write)
        });
    }
    cmd.stdout(Stdio::from(write.try_clone()?))
        .stderr(Stdio::from(write));
    let pid = match process::spawn(cmd, process::Group::Own) {
        Ok(Some(pid)) => pid,
        Ok(None) => crate::fail!(Failed, "not started: interrupted by signal {}", signal()),
        Err(e) => {
            // The process module names the program; the cause is what matters here.
            let why = e.to_string();
            let why = why
                .split_once(": ")
                .map_or(why.as_str(), |(_, cause)| cause);
            crate::fail!(Failed, "cannot run {:?} in {}: {why}", argv[0], t.app.dir)
        }
    };
    pumped(t, opts, reporter, read, || process::wait(Some(pid)))
}

/// Reads the command's output while `wait` waits for its end; shows it after a failure.
fn pumped(
    t: TaskRef<'_>,
    opts: &Options<'_>,
    reporter: &dyn Reporter,
    read: std::fs::File,
    wait: impl FnOnce() -> Result<(process::Pid, i32)>,
) -> Result<i32> {
    let id = t.id();
    // With several tasks at once, a task's lines are held and shown together when it ends, so
    // that the output of parallel tasks stays grouped per task.
    let grouped = opts.show_output && opts.parallel > 1;
    let show = opts.show_output && !grouped;
    let (waited, captured) = std::thread::scope(|s| {
        let pump = s.spawn(move || {
            let mut captured = Vec::new();
            let mut r = BufReader::new(read);
            let mut line = Vec::new();
            while r.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if show {
                    let text = String::from_utf8_lossy(&line);
                    reporter.output(&format!("{id}: {}", text.trim_end_matches('\n')));
                }
                captured.extend_from_slice(&line);
                line.clear();
            }
            captured
        });
        let waited = wait();
        (waited, pump.join().unwrap_or_default())
    });
    let (_, code) = waited?;
    if grouped || (code != 0 && !show) {
        let _together = SHOWING.lock();
        for line in String::from_utf8_lossy(&captured).lines() {
            reporter.output(&format!("{}: {line}", t.id()));
        }
    }
    Ok(code)
}

/// Held while one task's lines are shown, so that no other task's lines come between them.
static SHOWING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn signal() -> i32 {
    process::interrupted().unwrap_or(0)
}
