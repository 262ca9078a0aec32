//! `parallelize [JOBS]`: run the lines read from stdin, at most JOBS at once, from the repo root.
//! Stdin is read while jobs run: a line that arrives later (a build appending the tests of each
//! project as it finishes) starts at once, not after the end of the input.
//!
//! A test line (`HASH[:KEY=VALUE]... COMMAND`) runs as `run_test_cmd` runs it: knobs exported,
//! timeout, a `PASSED:`/`FAILED:` line (the tail of its output on failure), a pass recorded in the
//! test cache in CI; in CI with a ci3 server its log written there live (`RUNNING (URL): CMD`
//! once it can be read), its history and failed-tests lines pushed, and a failure whose
//! `.test_patterns.yml` entries name owners `FLAKED` (not a failure). Its `CPUS` count against
//! the machine's cores: a test waits until enough are free, and is pinned to cores no other
//! running test has. A plain command runs as it always did
//! here: its whole output, no status line, no core accounting.
//! Each job's stdout and stderr go to one temp file, printed when the job ends, so the outputs
//! of two jobs never interleave. The first failure stops the run (running jobs get SIGTERM,
//! queued ones never start) unless `NO_FAIL_FAST=1`.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Result, ResultExt};

use super::run_test::{self, Cores, Done, Recorder, Running, GRACE, NOT_RUN};
use super::test_line::TestLine;
use super::test_record::{self, Flake};
use crate::cache::test_cache::KvCache;
use crate::process::{self, Pid};
use crate::report::Reporter;
use crate::settings::Settings;

/// The default job count: half the CPUs, at least 1.
pub fn default_jobs() -> usize {
    (process::cpus() / 2).max(1)
}

pub fn run(settings: &Settings, reporter: Arc<dyn Reporter>, jobs: Option<usize>) -> Result<i32> {
    let began = Instant::now();
    let jobs = jobs.unwrap_or_else(default_jobs).max(1);
    let root = run_test::root(settings)?;
    let feed = Feed::start();
    let mut run = Run {
        joblog: open_joblog(settings.helpers.joblog.as_deref(), &root)?,
        fail_fast: !settings.helpers.no_fail_fast,
        stopping: false,
        total: 0,
        started: 0,
        done: 0,
        failed: 0,
        slow: Vec::new(),
        progress: io::stderr().is_terminal(),
    };
    let tty = io::stdout().is_terminal();
    let mut recorder = Recorder::new(settings, reporter);
    let mut cores = Cores::new();
    let mut queue: VecDeque<(usize, &'static TestLine<'static>)> = VecDeque::new();
    let mut running: HashMap<Pid, Job> = HashMap::new();
    loop {
        let (lines, eof) = feed.take(running.is_empty() && queue.is_empty());
        for line in lines {
            run.total += 1;
            queue.push_back((run.total, line));
        }
        while !run.stopping && running.len() < jobs {
            let Some(&(seq, test)) = queue.front() else {
                break;
            };
            let need = match test.resources(&settings.tests) {
                Ok(r) if test.is_test() => cores.need(r.cpus),
                _ => 0,
            };
            if !cores.fits(need) {
                break; // it waits for cores, and the lines after it wait their turn
            }
            queue.pop_front();
            let pinned = cores.take(need);
            let cmd = match run_test::command(test, settings, &root, pinned.clone()) {
                Ok(cmd) => cmd,
                Err(refusal) => {
                    cores.give(need, pinned.as_deref());
                    run.started += 1;
                    eprintln!("parallelize: {refusal}");
                    run_test::status(&mut io::stdout().lock(), tty, test, NOT_RUN, Duration::ZERO)?;
                    run.finished(seq, NOT_RUN, Duration::ZERO, test)?;
                    continue;
                }
            };
            let log_id = crate::cache::log::new_key()?;
            match Running::start(cmd, run_test::timeout_of(test, settings)) {
                Ok(Some(job)) => {
                    run.started += 1;
                    let live = match recorder.live().filter(|_| test.is_test()) {
                        Some((kv, ttl)) => Some(Live::start(
                            kv,
                            ttl,
                            log_id.clone(),
                            job.output.try_clone()?,
                            recorder.log_url(&log_id),
                            test,
                            tty,
                        )),
                        _ => None,
                    };
                    let job = Job {
                        seq,
                        test,
                        need,
                        pinned,
                        job,
                        log_id,
                        live,
                    };
                    running.insert(job.job.pid, job);
                }
                Ok(None) => {
                    cores.give(need, pinned.as_deref());
                    run.stopping = true;
                }
                Err(err) => {
                    cores.give(need, pinned.as_deref());
                    run.started += 1;
                    eprintln!("parallelize: {}", err.to_string().replace('\n', " "));
                    // Counted like a shell's "cannot execute", so fail-fast applies as well.
                    run.finished(seq, 126, Duration::ZERO, test)?;
                }
            }
        }
        run.show_progress(running.len());
        if running.is_empty() {
            if (eof && queue.is_empty()) || run.stopping || process::interrupted().is_some() {
                break;
            }
            continue;
        }
        let (pid, code) = feed.wait_child()?;
        let Some(job) = running.remove(&pid) else {
            continue;
        };
        let mut done = job.job.finish(code);
        // The last live write is done before the final one.
        if let Some(live) = job.live {
            live.stop();
        }
        cores.give(job.need, job.pinned.as_deref());
        run.clear_progress();
        let stopped = run.stopping && matches!(done.code, 130 | 143);
        let flake = match stopped {
            true => None,
            false => recorder.flake(&root, job.test, &done),
        };
        report(&mut done, job.test, tty, stopped, flake.as_ref())?;
        // A stopped test (exit 130 or 143) did not fail, nor pass: nothing is kept of it.
        if !stopped {
            recorder.keep(job.test, &mut done, flake.as_ref(), &job.log_id)?;
        }
        // A flake does not fail the run, as upstream's run_test_cmd exits 0 on one.
        let code = if flake.is_some() { 0 } else { done.code };
        run.finished(job.seq, code, done.took, job.test)?;
        run.stopping |= process::interrupted().is_some();
    }
    run.clear_progress();
    let mut out = io::stdout().lock();
    run.warn_slow(&mut out, settings.tests.slow_after)?;
    writeln!(
        out,
        "Completed run of {} tests in {} seconds.",
        run.started,
        began.elapsed().as_secs()
    )?;
    out.flush()?;
    Ok(if process::interrupted().is_some() {
        process::signal_code()
    } else if run.failed > 0 {
        1
    } else {
        0
    })
}

struct Job {
    seq: usize,
    test: &'static TestLine<'static>,
    /// What it counts against the cores, and the cores it is pinned to.
    need: usize,
    pinned: Option<Vec<usize>>,
    job: Running,
    /// Its log on a ci3 server, and the thread writing it there while it runs.
    log_id: String,
    live: Option<Live>,
}

/// A running test's log re-sent to the ci3 server while it runs, as `run_test_cmd` does.
struct Live {
    ended: Arc<(Mutex<bool>, Condvar)>,
    thread: std::thread::JoinHandle<()>,
}

impl Live {
    fn start(
        kv: Arc<KvCache>,
        ttl: u64,
        key: String,
        output: File,
        url: String,
        test: &'static TestLine<'static>,
        tty: bool,
    ) -> Live {
        let ended: Arc<(Mutex<bool>, Condvar)> = Arc::default();
        let shared = ended.clone();
        let thread = std::thread::spawn(move || {
            let snapshot = || test_record::output_so_far(&output);
            let first = || run_test::running_at(tty, &url, test);
            crate::cache::log::while_live(kv.backend(), &key, ttl, &snapshot, &first, || {
                let (lock, wake) = &*shared;
                let mut done = lock.lock().unwrap_or_else(PoisonError::into_inner);
                while !*done {
                    done = wake.wait(done).unwrap_or_else(PoisonError::into_inner);
                }
            });
        });
        Live { ended, thread }
    }

    /// Stops the re-sending; returns once its last write is done.
    fn stop(self) {
        let (lock, wake) = &*self.ended;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        let _ = self.thread.join();
    }
}

/// What a finished job shows: a plain command its whole output; a test line its status line
/// and, on failure, the tail of its output (a flake: its `FLAKED:` line). A test stopped by
/// fail-fast or a signal shows nothing: it did not fail, it was stopped (as the original's
/// run_test_cmd stayed silent).
fn report(
    done: &mut Done,
    test: &TestLine,
    tty: bool,
    stopped: bool,
    flake: Option<&Flake>,
) -> Result<()> {
    let mut out = io::stdout().lock();
    if !test.is_test() {
        done.copy_output(&mut out)?;
    } else if let Some(flake) = flake {
        test_record::flaked_status(&mut out, tty, test, done, flake)?;
    } else if !stopped {
        done.report(&mut out, tty, test)?;
    }
    out.flush()?;
    Ok(())
}

/// One command per line; empty (or blank) lines are skipped. Bytes, not text: a command may
/// hold any bytes bash accepts. (The run reads them through [`Feed`], which skips the same.)
#[cfg(test)]
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

#[derive(Default)]
struct Lines {
    new: Vec<&'static TestLine<'static>>,
    eof: bool,
    /// The main loop is (about to be) blocked waiting for a child to end.
    in_wait: bool,
}

/// Stdin read on a thread of its own, line by line, while jobs run. The lines live as long as
/// the process (leaked), since jobs hold them and the run ends with the process.
struct Feed {
    lines: Arc<(Mutex<Lines>, Condvar)>,
}

impl Feed {
    fn start() -> Feed {
        let lines: Arc<(Mutex<Lines>, Condvar)> = Arc::default();
        let shared = Arc::clone(&lines);
        std::thread::spawn(move || {
            let (lock, more) = &*shared;
            for line in io::stdin().lock().split(b'\n') {
                let Ok(line) = line else { break };
                if line.trim_ascii().is_empty() {
                    continue;
                }
                let line: &'static [u8] = Box::leak(line.into_boxed_slice());
                let test: &'static TestLine<'static> = Box::leak(Box::new(TestLine::parse(line)));
                let mut st = lock.lock().unwrap_or_else(PoisonError::into_inner);
                st.new.push(test);
                if std::mem::take(&mut st.in_wait) {
                    nudge();
                }
                more.notify_all();
            }
            let mut st = lock.lock().unwrap_or_else(PoisonError::into_inner);
            st.eof = true;
            if std::mem::take(&mut st.in_wait) {
                nudge();
            }
            more.notify_all();
        });
        Feed { lines }
    }

    /// The lines read since the last call, and whether stdin has ended; with `block`, waits
    /// until there is one, stdin ends or the helper is signalled.
    fn take(&self, block: bool) -> (Vec<&'static TestLine<'static>>, bool) {
        let (lock, more) = &*self.lines;
        let mut st = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while block && st.new.is_empty() && !st.eof && process::interrupted().is_none() {
            st = more
                .wait_timeout(st, Duration::from_millis(200))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        // Set before the wait below starts: a line that arrives from now on nudges it.
        st.in_wait = true;
        (std::mem::take(&mut st.new), st.eof)
    }

    /// Waits for any child to end, as [`process::wait`]; a line arriving meanwhile ends the
    /// wait early through the child it nudges with (reaped here, and no job's).
    fn wait_child(&self) -> Result<(Pid, i32)> {
        let r = process::wait(None);
        let (lock, _) = &*self.lines;
        lock.lock().unwrap_or_else(PoisonError::into_inner).in_wait = false;
        r
    }
}

/// Starts a child that exits at once: the main loop's wait for any child returns, and the loop
/// takes the new line. Not registered with the process module: nothing is forwarded to it.
fn nudge() {
    let _ = std::process::Command::new("true")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// `$JOBLOG`, else `joblog.txt` at the repo root (as the original), told on stderr.
fn open_joblog(path: Option<&Path>, root: &Path) -> Result<File> {
    let (path, told): (PathBuf, bool) = match path {
        Some(path) => (path.to_path_buf(), false),
        None => (root.join("joblog.txt"), true),
    };
    let file = File::create(&path)
        .with_context(|| format!("joblog {}: cannot create it", path.display()))?;
    if told {
        eprintln!("parallelize: joblog: {}", path.display());
    }
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
    /// How long each job took, for the warning about slow tests.
    slow: Vec<(Duration, String)>,
    /// Draw a progress line: only when stderr is a terminal.
    progress: bool,
}

impl Run {
    fn finished(&mut self, seq: usize, code: i32, took: Duration, test: &TestLine) -> Result<()> {
        let cmd = test.line;
        self.joblog
            .write_all(&log_line(seq, code, took, cmd))
            .context("writing the joblog")?;
        self.slow.push((took, test.display().into_owned()));
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

    /// The original's warning, listing the tests slower than `limit`, slowest last.
    fn warn_slow(&mut self, out: &mut impl Write, limit: Duration) -> Result<()> {
        self.slow.retain(|(took, _)| *took > limit);
        if self.slow.is_empty() {
            return Ok(());
        }
        self.slow.sort();
        writeln!(
            out,
            "WARNING: The following tests exceed {} runtimes. Break them up or rethink them.",
            runtime_words(limit)
        )?;
        for (took, cmd) in &self.slow {
            writeln!(out, "{}: {cmd}", took.as_secs())?;
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

/// `5 minute` for 300 s (the original's words), else the seconds.
fn runtime_words(limit: Duration) -> String {
    let secs = limit.as_secs();
    if secs.is_multiple_of(60) && secs > 0 {
        format!("{} minute", secs / 60)
    } else {
        format!("{secs} second")
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

    #[test]
    fn slow_warning_words() {
        assert_eq!(runtime_words(Duration::from_secs(300)), "5 minute");
        assert_eq!(runtime_words(Duration::from_secs(1)), "1 second");
    }
}
