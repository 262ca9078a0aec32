//! Fixtures of the shell helpers' tests: a helper run plainly, fed on stdin, or on a terminal.

use super::exe::exe;
use std::process::{Command, Output, Stdio};

pub fn tool(name: &str) -> Command {
    let mut cmd = Command::new(exe(name));
    super::with_default_signals(&mut cmd);
    for var in ["DENOISE", "RETRY_SLEEP", "NO_FAIL_FAST", "JOBLOG"] {
        cmd.env_remove(var);
    }
    cmd
}

pub fn run(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    tool(name)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `parallelize JOBS` fed `input`; its default joblog goes to a root of its own (tests run at
/// once, and one repo-root `joblog.txt` would be every test's), unless `envs` names `root`.
pub fn parallelize(jobs: Option<&str>, input: &str, envs: &[(&str, &str)]) -> Output {
    let root = tempfile::tempdir().unwrap();
    let mut child = tool("parallelize")
        .args(jobs)
        .env("root", root.path())
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    super::feed(&mut child, input.as_bytes());
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn lines(bytes: &[u8]) -> Vec<String> {
    text(bytes).lines().map(str::to_string).collect()
}

/// `tool args` under `script`, so that its stdio is a terminal, its controlling terminal, whose
/// foreground process group it is in (as when a person runs it), and under `timeout`, so that a
/// helper stopped by SIGTTIN/SIGTTOU fails the test instead of hanging it. None when the machine
/// has no `script` (util-linux).
pub fn on_terminal(name: &str, args: &str, envs: &[(&str, &str)]) -> Option<Command> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to give the tool a terminal");
        return None;
    }
    let program = tool(name).get_program().to_string_lossy().into_owned();
    let mut cmd = Command::new("timeout");
    cmd.args([
        "20",
        "script",
        "-qec",
        &format!("{program} {args}"),
        "/dev/null",
    ])
    // `script` runs the line with $SHELL: pin bash (what ci3 scripts run in) so the test means
    // the same on every machine (CI's $SHELL is /bin/sh, a developer's is not). bash runs a
    // single command by exec, so the tool itself is what the terminal signals.
    .env("SHELL", "/bin/bash")
    .envs(envs.iter().copied())
    .stdin(Stdio::null());
    Some(cmd)
}

/// What `tool args` prints on a terminal.
pub fn on_tty(name: &str, args: &str, envs: &[(&str, &str)]) -> Option<String> {
    let out = on_terminal(name, args, envs)?.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    Some(text(&out.stdout))
}

/// Variables that select or authenticate a store, or change what cache_log does: each test sets
/// the ones it means.
pub const STORE_VARS: &[&str] = &[
    "DUP",
    "CI3_S3_BUCKET",
    "CI3_S3_PREFIX",
    "CI3_S3_ENDPOINT",
    "CI3_PUBLIC_CACHE_URL",
    "S3_BUILD_CACHE_AWS_PARAMS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
];

/// The last line of stdout: parallelize's closing summary.
pub fn completed_line(out: &Output) -> String {
    lines(&out.stdout).pop().unwrap_or_default()
}

/// N and S of the closing `Completed run of N tests in S seconds.`
pub fn completed(out: &Output) -> (usize, u64) {
    let line = completed_line(out);
    let parsed = line
        .strip_prefix("Completed run of ")
        .and_then(|rest| rest.strip_suffix(" seconds."))
        .and_then(|rest| rest.split_once(" tests in "))
        .and_then(|(n, s)| Some((n.parse().ok()?, s.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("no closing line: {line:?}"))
}
