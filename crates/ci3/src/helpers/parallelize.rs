//! `parallelize [JOBS]`: run the shell commands read from stdin, at most JOBS at once.
//!
//! Each job's stdout and stderr go to one temp file, printed whole when the job ends, so the
//! outputs of two jobs never interleave. The first failure stops the run (running jobs get
//! SIGTERM, queued ones never start) unless `NO_FAIL_FAST=1`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::process::{self, Pid};

/// How long a job stopped by fail-fast has to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// The default job count: half the CPUs, at least 1.
pub fn default_jobs() -> usize {
    (super::cpus() / 2).max(1)
}

pub fn run(settings: &crate::settings::Settings, jobs: Option<usize>) -> Result<i32> {
    let began = Instant::now();
    let jobs = jobs.unwrap_or_else(default_jobs).max(1);
    let commands = read_commands(io::stdin().lock())?;
    let mut run = Run {
        joblog: open_joblog(settings.helpers.joblog.as_deref())?,
        fail_fast: !settings.helpers.no_fail_fast,
        stopping: false,
        total: commands.len(),
        started: 0,
        done: 0,
        failed: 0,
        progress: io::stderr().is_terminal(),
    };
    let mut queue = commands
        .iter()
        .enumerate()
        .map(|(i, cmd)| (i + 1, cmd.as_slice()));
    let mut running: HashMap<Pid, Job> = HashMap::new();
    loop {
        while !run.stopping && running.len() < jobs {
            let Some((seq, cmd)) = queue.next() else {
                break;
            };
            match start(cmd) {
                Ok(Some((pid, output))) => {
                    run.started += 1;
                    let start = Instant::now();
                    running.insert(
                        pid,
                        Job {
                            seq,
                            cmd,
                            start,
                            output,
                        },
                    );
                }
                Ok(None) => run.stopping = true,
                Err(err) => {
                    run.started += 1;
                    eprintln!("parallelize: {}", crate::error::one_line(&err));
                    // Counted like a shell's "cannot execute", so fail-fast applies as well.
                    run.finished(seq, 126, Duration::ZERO, cmd)?;
                }
            }
        }
        run.show_progress(running.len());
        if running.is_empty() {
            break;
        }
        let (pid, code) = process::wait(None)?;
        let Some(mut job) = running.remove(&pid) else {
            continue;
        };
        run.clear_progress();
        job.output.rewind()?;
        let mut out = io::stdout().lock();
        io::copy(&mut job.output, &mut out).context("printing a job's output")?;
        out.flush()?;
        run.finished(job.seq, code, job.start.elapsed(), job.cmd)?;
        run.stopping |= process::interrupted().is_some();
    }
    run.clear_progress();
    println!(
        "Completed run of {} tests in {}s.",
        run.started,
        began.elapsed().as_secs()
    );
    Ok(if process::interrupted().is_some() {
        process::signal_code()
    } else if run.failed > 0 {
        1
    } else {
        0
    })
}

struct Job<'a> {
    seq: usize,
    cmd: &'a [u8],
    start: Instant,
    output: File,
}

/// Starts one job with its stdout and stderr both going to a fresh anonymous temp file.
fn start(cmd: &[u8]) -> Result<Option<(Pid, File)>> {
    let output = tempfile::tempfile().context("cannot create a temp file for a job's output")?;
    let mut child = process::bash(OsStr::from_bytes(cmd));
    child
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output.try_clone()?);
    // Always in a group of its own: fail-fast must stop everything a job started.
    Ok(process::spawn(child, process::Group::Own)?.map(|pid| (pid, output)))
}

/// One command per line; empty (or blank) lines are skipped. Bytes, not text: a command may
/// hold any bytes bash accepts.
fn read_commands(input: impl BufRead) -> Result<Vec<Vec<u8>>> {
    let mut commands = Vec::new();
    for line in input.split(b'\n') {
        let line = line.context("reading commands from stdin")?;
        if !line.trim_ascii().is_empty() {
            commands.push(line);
        }
    }
    Ok(commands)
}

/// `$JOBLOG`, else a file kept in the temp dir whose path is told on stderr.
fn open_joblog(path: Option<&std::path::Path>) -> Result<File> {
    if let Some(path) = path {
        return File::create(path)
            .with_context(|| format!("JOBLOG={}: cannot create it", path.display()));
    }
    let (file, path): (File, PathBuf) = tempfile::Builder::new()
        .prefix("parallelize-")
        .suffix(".joblog")
        .tempfile()
        .context("cannot create a joblog in the temp dir")?
        .keep()
        .context("cannot keep the joblog")?;
    eprintln!("parallelize: joblog: {}", path.display());
    Ok(file)
}

/// `seq TAB exit TAB seconds TAB command`, one line per finished job.
fn log_line(seq: usize, code: i32, took: Duration, cmd: &[u8]) -> Vec<u8> {
    let mut line = format!("{seq}\t{code}\t{:.3}\t", took.as_secs_f64()).into_bytes();
    line.extend_from_slice(cmd);
    line.push(b'\n');
    line
}

/// The run's state apart from the running jobs: the joblog, the counts, whether to stop.
struct Run {
    joblog: File,
    fail_fast: bool,
    /// Start no more jobs: one failed under fail-fast, or parallelize was signalled.
    stopping: bool,
    total: usize,
    started: usize,
    done: usize,
    failed: usize,
    /// Draw a progress line: only when stderr is a terminal.
    progress: bool,
}

impl Run {
    fn finished(&mut self, seq: usize, code: i32, took: Duration, cmd: &[u8]) -> Result<()> {
        self.joblog
            .write_all(&log_line(seq, code, took, cmd))
            .context("writing the joblog")?;
        self.done += 1;
        if code != 0 {
            self.failed += 1;
            if self.fail_fast && !self.stopping {
                eprintln!(
                    "parallelize: job {seq} failed (exit {code}): {}; stopping the others (NO_FAIL_FAST=1 runs them all).",
                    String::from_utf8_lossy(cmd)
                );
                self.stopping = true;
                process::terminate_all(GRACE);
            }
        }
        Ok(())
    }

    fn show_progress(&self, running: usize) {
        if self.progress {
            eprint!(
                "\r\x1b[K{}/{} done, {running} running, {} failed",
                self.done, self.total, self.failed
            );
        }
    }

    /// Clears the progress line before a job's output or the final line takes its place.
    fn clear_progress(&self) {
        if self.progress {
            eprint!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_skip_blank_lines() {
        let input = b"echo a\n\n  \nfalse\r\necho 'b c'" as &[u8];
        let commands = read_commands(input).unwrap();
        assert_eq!(
            commands,
            vec![
                b"echo a".to_vec(),
                b"false\r".to_vec(),
                b"echo 'b c'".to_vec()
            ]
        );
    }

    #[test]
    fn joblog_line() {
        let line = log_line(7, 143, Duration::from_millis(1500), b"sleep 30");
        assert_eq!(line, b"7\t143\t1.500\tsleep 30\n");
    }
}
