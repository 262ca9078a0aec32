//! `run_test_cmd LINE`: run one line of the test pipeline and say `PASSED:` or `FAILED:`.
//!
//! A test line's command runs with `bash -c` from the repo root, its knobs exported, pinned to
//! `CPUS` cores when the machine has more, in a process group of its own that is sent SIGTERM
//! at its `TIMEOUT` (then SIGKILL after a grace) so that everything it started stops; a
//! timed-out test exits 124, as under `timeout(1)`. An `ISOLATE=1` test runs through
//! `ci3/docker_isolate`, which removes its container on that SIGTERM. Its output goes to a temp
//! file: a pass shows only its status line, a failure the tail of its output too. In CI a pass
//! is recorded in the test cache; in CI with a ci3 server its log is written there live, its
//! lines pushed to the history and failed-tests lists, and a failure whose owners are named is a
//! flake. `parallelize` runs its lines through the same pieces.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Result, ResultExt};

use super::test_line::TestLine;
use super::{styled, GREEN, RED};
/// Upstream's colour of `RUNNING`.
const BLUE: &str = "\x1b[34m";
use super::test_record;
pub use super::test_record::{Done, Recorder};
pub use crate::process::Cores;
use crate::process::{self, allowed_cores, parse_cpu_list, pin, Pid};
use crate::report::Reporter;
use crate::settings::Settings;

/// How long a test has after SIGTERM (timeout, fail-fast) before it gets SIGKILL.
pub const GRACE: Duration = Duration::from_secs(10);
/// The exit status of a test stopped at its timeout, as `timeout(1)` reports it.
pub const TIMED_OUT: i32 = 124;
/// The exit status of a test that could not be started as its line asks (a knob that cannot be
/// right, no container engine): `timeout(1)`'s and `docker run`'s code for their own failures.
pub const NOT_RUN: i32 = 125;
/// The lines of a failed test's output shown under its `FAILED:` line.
pub const TAIL_LINES: usize = 50;
/// The container image of `ISOLATE=1` tests when `CI3_ISOLATE_IMAGE` is not set: the
/// original's build image, which its isolated tests expect.
pub const ISOLATE_IMAGE: &str = "aztecprotocol/build:3.0";

/// The directory test commands run from: `$root`, else the top level of the work tree.
pub fn root(settings: &Settings) -> Result<PathBuf> {
    if let Some(root) = &settings.tests.root {
        return Ok(root.clone());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    crate::git::toplevel(&cwd).context("set `root`, or run inside a git work tree")
}

/// `run_test_cmd LINE`: the test's exit status, or 128+signal when it was signalled.
pub fn run(settings: &Settings, reporter: Arc<dyn Reporter>, line: &[u8]) -> Result<i32> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(0);
    }
    let root = root(settings)?;
    let test = TestLine::parse(line);
    let mut recorder = Recorder::new(settings, reporter);
    let tty = io::stdout().is_terminal();
    let cores = match test.resources(&settings.tests) {
        Ok(r) => standalone_cores(r.cpus, settings.tests.cpu_list.as_deref()),
        Err(_) => None,
    };
    let cmd = match command(&test, settings, &root, cores) {
        Ok(cmd) => cmd,
        Err(refusal) => {
            eprintln!("run_test_cmd: {refusal}");
            status(
                &mut io::stdout().lock(),
                tty,
                &test,
                NOT_RUN,
                Duration::ZERO,
            )?;
            return Ok(NOT_RUN);
        }
    };
    let timeout = timeout_of(&test, settings);
    let log_id = crate::cache::log::new_key()?;
    let Some(running) = Running::start(cmd, timeout)? else {
        return Ok(process::signal_code());
    };
    let url = recorder.log_url(&log_id);
    let waited = match recorder.live().filter(|_| test.is_test()) {
        Some((kv, ttl)) => {
            let output = running.output.try_clone()?;
            let snapshot = || test_record::output_so_far(&output);
            let running_line = || running_at(tty, &url, &test);
            crate::cache::log::while_live(
                kv.backend(),
                &log_id,
                ttl,
                &snapshot,
                &running_line,
                || process::wait(Some(running.pid)),
            )
        }
        None => process::wait(Some(running.pid)),
    };
    let (_, code) = waited?;
    let mut done = running.finish(code);
    if process::interrupted().is_some() {
        return Ok(process::signal_code());
    }
    let flake = recorder.flake(&root, &test, &done);
    let mut out = io::stdout().lock();
    match &flake {
        Some(flake) => test_record::flaked_status(&mut out, tty, &test, &done, flake)?,
        None => done.report(&mut out, tty, &test)?,
    }
    out.flush()?;
    recorder.keep(&test, &mut done, flake.as_ref(), &log_id)?;
    Ok(if flake.is_some() { 0 } else { done.code })
}

/// `RUNNING (URL): CMD`: upstream's word for a test whose log can now be read live at URL.
pub fn running_at(tty: bool, url: &str, test: &TestLine) {
    let mut out = io::stdout().lock();
    let _ = styled(&mut out, tty, BLUE, b"RUNNING")
        .and_then(|()| writeln!(out, " ({url}): {}", test.display()))
        .and_then(|()| out.flush());
}

/// The timeout of a test line (and the text it was given as), `None` for a plain command.
pub fn timeout_of(test: &TestLine, settings: &Settings) -> Option<(Duration, String)> {
    let resources = test.resources(&settings.tests).ok()?;
    let text = resources
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "TIMEOUT")
        .map(|(_, v)| v.clone())?;
    Some((resources.timeout?, text))
}

/// The command for `test`: `bash -c COMMAND` from `root` with its knobs exported and pinned to
/// `cores`, or `docker_isolate COMMAND` for `ISOLATE=1`; the refusal, when the line cannot run
/// as asked.
pub fn command(
    test: &TestLine,
    settings: &Settings,
    root: &Path,
    cores: Option<Vec<usize>>,
) -> Result<Command> {
    let command = std::ffi::OsStr::from_bytes(test.command);
    if !test.is_test() {
        let mut cmd = process::bash(command);
        cmd.current_dir(root);
        return Ok(cmd);
    }
    let resources = test.resources(&settings.tests)?;
    if resources.isolate {
        return isolated(test, settings, root, &resources, cores);
    }
    let mut cmd = process::bash(command);
    cmd.current_dir(root)
        .envs(resources.env.iter().map(|(k, v)| (k, v)));
    if let Some(cores) = cores {
        pin(&mut cmd, cores);
    }
    Ok(cmd)
}

/// An `ISOLATE=1` test: `docker_isolate COMMAND` from `root`, its knobs exported and passed
/// into the container (`ENV_VARS_TO_INJECT`), its cores the container's cpuset (`CPU_LIST`).
/// The script is in our process group: the timeout's SIGTERM makes it remove the container.
fn isolated(
    test: &TestLine,
    settings: &Settings,
    root: &Path,
    resources: &super::test_line::Resources,
    cores: Option<Vec<usize>>,
) -> Result<Command> {
    let Some(engine) = on_path(settings, &["docker", "podman"]) else {
        crate::fail!(
            Failed,
            "ISOLATE=1 needs a container engine (docker or podman on PATH) and none was found; not running: {}",
            test.display()
        );
    };
    let Some(script) = docker_isolate(settings) else {
        crate::fail!(
            Failed,
            "ISOLATE=1 needs ci3/docker_isolate (beside the tools' bin/, or on PATH) and it was not found; not running: {}",
            test.display()
        );
    };
    let mut inject: Vec<&str> = settings
        .var("ENV_VARS_TO_INJECT")
        .and_then(|v| v.to_str())
        .map_or_else(Vec::new, |v| v.split_whitespace().collect());
    inject.extend(resources.env.iter().map(|(k, _)| k.as_str()));
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .arg(std::ffi::OsStr::from_bytes(test.command))
        .current_dir(root)
        .envs(resources.env.iter().map(|(k, v)| (k, v)))
        .env("CI3_DOCKER", engine)
        .env("ENV_VARS_TO_INJECT", inject.join(" "))
        .env(
            "CI3_ISOLATE_IMAGE",
            settings
                .tests
                .isolate_image
                .as_deref()
                .unwrap_or(ISOLATE_IMAGE),
        );
    if let Some(cores) = cores {
        let list: Vec<String> = cores.iter().map(usize::to_string).collect();
        cmd.env("CPU_LIST", list.join(","));
    }
    Ok(cmd)
}

/// `docker_isolate`: in the toolbox beside the tools (`bin/../ci3/`), else on `PATH` (where
/// `ci3/source` puts the toolbox).
fn docker_isolate(settings: &Settings) -> Option<PathBuf> {
    let beside = std::env::current_exe().ok().and_then(|exe| {
        let script = exe.parent()?.parent()?.join("ci3/docker_isolate");
        script.is_file().then_some(script)
    });
    beside.or_else(|| on_path(settings, &["docker_isolate"]))
}

/// The first of `programs` found on `PATH`.
fn on_path(settings: &Settings, programs: &[&str]) -> Option<PathBuf> {
    let path = settings.var("PATH")?;
    programs.iter().find_map(|program| {
        std::env::split_paths(path)
            .map(|dir| dir.join(program))
            .find(|exe| exe.is_file())
    })
}

/// A started test: its process group, its output file, the watchdog of its timeout.
pub struct Running {
    pub pid: Pid,
    pub output: File,
    pub started: Instant,
    watchdog: Option<Watchdog>,
}

impl Running {
    /// Starts `cmd` in a group of its own with stdout and stderr going to a fresh temp file,
    /// and arms its timeout. `None` when the helper has been signalled.
    pub fn start(mut cmd: Command, timeout: Option<(Duration, String)>) -> Result<Option<Running>> {
        let output =
            tempfile::tempfile().context("cannot create a temp file for a test's output")?;
        cmd.stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output.try_clone()?);
        let started = Instant::now();
        let Some(pid) = process::spawn(cmd, process::Group::Own)? else {
            return Ok(None);
        };
        let watchdog = match timeout {
            Some((after, text)) => Some(Watchdog::arm(pid, after, text, output.try_clone()?)),
            None => None,
        };
        Ok(Some(Running {
            pid,
            output,
            started,
            watchdog,
        }))
    }

    /// The test's end, once its process has been reaped with exit status `code`. Must be called
    /// before anything else is started: until then its timeout may still signal its group.
    pub fn finish(self, code: i32) -> Done {
        let timed_out = self.watchdog.is_some_and(|w| w.disarm());
        Done {
            code: if timed_out { TIMED_OUT } else { code },
            took: self.started.elapsed(),
            timed_out,
            output: self.output,
        }
    }
}

impl Done {
    /// `PASSED: CMD (Ns)`, or `FAILED: CMD (Ns) (code: N)` and the tail of the output.
    pub fn report(&mut self, out: &mut impl Write, tty: bool, test: &TestLine) -> Result<()> {
        status(out, tty, test, self.code, self.took)?;
        if self.code != 0 {
            self.output.rewind()?;
            write_tail(out, &mut self.output, TAIL_LINES)?;
        }
        Ok(())
    }

    /// The whole output, as it was written.
    pub fn copy_output(&mut self, out: &mut impl Write) -> Result<()> {
        self.output.rewind()?;
        io::copy(&mut self.output, out).context("printing a test's output")?;
        Ok(())
    }
}

/// The status line of a test as the original printed it (colour on a terminal only).
pub fn status(
    out: &mut impl Write,
    tty: bool,
    test: &TestLine,
    code: i32,
    took: Duration,
) -> io::Result<()> {
    let secs = took.as_secs();
    if code == 0 {
        styled(out, tty, GREEN, b"PASSED")?;
        writeln!(out, ": {} ({secs}s)", test.display())
    } else {
        styled(out, tty, RED, b"FAILED")?;
        writeln!(out, ": {} ({secs}s) (code: {code})", test.display())
    }
}

/// The last `keep` lines of `output`, after a line saying how many came before them.
fn write_tail(out: &mut impl Write, output: &mut File, keep: usize) -> Result<()> {
    let mut lines = std::collections::VecDeque::with_capacity(keep + 1);
    let mut total = 0usize;
    for line in BufReader::new(output).split(b'\n') {
        lines.push_back(line.context("reading a test's output")?);
        total += 1;
        if lines.len() > keep {
            lines.pop_front();
        }
    }
    if total > keep {
        writeln!(out, "... ({} earlier lines not shown)", total - keep)?;
    }
    for line in lines {
        out.write_all(&line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Sends SIGTERM to a test's process group at its timeout, and SIGKILL after the grace.
struct Watchdog {
    state: Arc<(Mutex<Watch>, Condvar)>,
}

#[derive(Default)]
struct Watch {
    /// The test was reaped: its group id may belong to someone else from now on.
    finished: bool,
    timed_out: bool,
}

impl Watchdog {
    fn arm(pid: Pid, after: Duration, text: String, mut output: File) -> Watchdog {
        let state = Arc::new((Mutex::new(Watch::default()), Condvar::new()));
        let shared = state.clone();
        std::thread::spawn(move || {
            let (lock, wake) = &*shared;
            let watch = lock.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut watch, _) = wake
                .wait_timeout_while(watch, after, |w| !w.finished)
                .unwrap_or_else(PoisonError::into_inner);
            if watch.finished {
                return;
            }
            // Signalled with the lock held: `disarm` (before anything new starts) waits for it,
            // so the group id is still the test's.
            watch.timed_out = true;
            // Written as `timeout -v` does: patterns in .test_patterns.yml look for it.
            let _ = writeln!(
                output,
                "timeout: sending signal TERM to command 'bash' (TIMEOUT={text})"
            );
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(-pid, libc::SIGTERM) };
            let (watch, _) = wake
                .wait_timeout_while(watch, GRACE, |w| !w.finished)
                .unwrap_or_else(PoisonError::into_inner);
            if !watch.finished {
                let _ = writeln!(output, "timeout: sending signal KILL to command 'bash'");
                // SAFETY: as above.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        });
        Watchdog { state }
    }

    /// Stops watching; whether the test was timed out.
    fn disarm(self) -> bool {
        let (lock, wake) = &*self.state;
        let mut watch = lock.lock().unwrap_or_else(PoisonError::into_inner);
        watch.finished = true;
        wake.notify_all();
        watch.timed_out
    }
}

/// The cores a test started on its own (`run_test_cmd`) is pinned to: `CPU_LIST` when set,
/// else `cpus` of the allowed cores when there are more. The window starts at an offset taken
/// from our pid, so tests started side by side by another scheduler spread over the machine
/// instead of all sharing the first cores.
fn standalone_cores(cpus: usize, cpu_list: Option<&str>) -> Option<Vec<usize>> {
    if let Some(list) = cpu_list {
        return parse_cpu_list(list);
    }
    let allowed = allowed_cores();
    if cpus >= allowed.len() {
        return None;
    }
    let start = (std::process::id() as usize * cpus) % allowed.len();
    Some(
        (0..cpus)
            .map(|i| allowed[(start + i) % allowed.len()])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        let mut file = tempfile::tempfile().unwrap();
        for i in 1..=5 {
            writeln!(file, "line {i}").unwrap();
        }
        file.rewind().unwrap();
        let mut out = Vec::new();
        write_tail(&mut out, &mut file, 2).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "... (3 earlier lines not shown)\nline 4\nline 5\n"
        );
    }
}
