//! The shell helpers, run as the executables scripts call: output, exit statuses, signals.
//! The cache_log tests that need S3 talk to the server `test_source` starts
//! (`bash ci3/run_tests`); the example script's test runs `examples/helpers/build.sh`.

mod common;

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

fn tool(name: &str) -> Command {
    let path = match name {
        "denoise" => env!("CARGO_BIN_EXE_denoise"),
        "dump_fail" => env!("CARGO_BIN_EXE_dump_fail"),
        "retry" => env!("CARGO_BIN_EXE_retry"),
        "echo_header" => env!("CARGO_BIN_EXE_echo_header"),
        "parallelize" => env!("CARGO_BIN_EXE_parallelize"),
        "parallelise" => env!("CARGO_BIN_EXE_parallelise"),
        _ => panic!("no tool {name}"),
    };
    let mut cmd = Command::new(path);
    for var in ["DENOISE", "RETRY_SLEEP", "NO_FAIL_FAST", "JOBLOG"] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    tool(name)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn parallelize(jobs: Option<&str>, input: &str, envs: &[(&str, &str)]) -> Output {
    let mut child = tool("parallelize")
        .args(jobs)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::feed(&mut child, input.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn lines(bytes: &[u8]) -> Vec<String> {
    text(bytes).lines().map(str::to_string).collect()
}

/// `tool args` under `script`, so that its stdio is a terminal, its controlling terminal, whose
/// foreground process group it is in (as when a person runs it), and under `timeout`, so that a
/// helper stopped by SIGTTIN/SIGTTOU fails the test instead of hanging it. None when the machine
/// has no `script` (util-linux).
fn on_terminal(name: &str, args: &str, envs: &[(&str, &str)]) -> Option<Command> {
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
fn on_tty(name: &str, args: &str, envs: &[(&str, &str)]) -> Option<String> {
    let out = on_terminal(name, args, envs)?.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    Some(text(&out.stdout))
}

/// The commands whose exit statuses must come back unchanged, with the status expected:
/// a command killed by SIGTERM is 143, never success.
const STATUSES: [(&str, i32); 4] = [
    ("true", 0),
    ("exit 1", 1),
    ("exit 42", 42),
    ("kill -TERM $$", 143),
];

// ---- denoise ----

#[test]
fn denoise_without_denoise_just_runs() {
    let out = run("denoise", &["echo out; echo err >&2; exit 42"], &[]);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "err\n");
}

#[test]
fn denoise_passes_statuses_through() {
    for denoise in ["0", "1"] {
        for (cmd, code) in STATUSES {
            let out = run("denoise", &[cmd], &[("DENOISE", denoise)]);
            assert_eq!(out.status.code(), Some(code), "DENOISE={denoise} {cmd}");
        }
    }
}

#[test]
fn denoise_prints_blocks_of_dots_in_a_log() {
    let cmd = "for i in $(seq 130); do echo line $i; done";
    let out = run("denoise", &[cmd], &[("DENOISE", "1")]);
    assert_eq!(out.status.code(), Some(0));
    let lines = lines(&out.stdout);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0], format!("Executing: {cmd}"));
    assert_eq!(lines[1], format!("{} 64", ".".repeat(64)));
    assert_eq!(lines[2], format!("{} 128", ".".repeat(64)));
    assert_eq!(lines[3], "..");
    assert!(
        lines[4].starts_with("done (") && lines[4].ends_with("s)"),
        "{}",
        lines[4]
    );
    assert!(
        !text(&out.stdout).contains("line 1\n"),
        "the output is hidden"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn denoise_counts_a_last_line_without_newline() {
    let out = run("denoise", &["echo a; printf b"], &[("DENOISE", "1")]);
    assert_eq!(lines(&out.stdout)[1], "..");
}

#[test]
fn denoise_shows_the_output_on_failure() {
    let cmd = "echo visible; echo on-stderr >&2; exit 42";
    let out = run("denoise", &[cmd], &[("DENOISE", "1")]);
    assert_eq!(out.status.code(), Some(42));
    let lines = lines(&out.stdout);
    assert_eq!(lines[0], format!("Executing: {cmd}"));
    assert_eq!(lines[1], "..");
    assert!(lines[2].starts_with("failed (") && lines[2].ends_with("s)"));
    assert_eq!(lines[3..], ["visible", "on-stderr"]);
}

#[test]
fn denoise_shows_dots_live_on_a_terminal() {
    let Some(out) = on_tty("denoise", "'seq 3'", &[("DENOISE", "1")]) else {
        return;
    };
    assert!(out.contains("Executing: seq 3"), "{out:?}");
    assert!(out.contains("...\r\n"), "{out:?}");
    assert!(out.contains("\x1b[32mdone ("), "{out:?}");
}

// ---- dump_fail ----

#[test]
fn dump_fail_prints_only_stdout_on_success() {
    let out = run("dump_fail", &["echo out; echo err >&2"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn dump_fail_dumps_both_streams_on_failure() {
    let cmd = "echo out; echo err >&2; exit 42";
    let out = run("dump_fail", &[cmd], &[]);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!("command failed: {cmd} (exit: 42)\nout\nerr\n")
    );
}

#[test]
fn dump_fail_passes_statuses_through() {
    for (cmd, code) in STATUSES {
        let out = run("dump_fail", &[cmd], &[]);
        assert_eq!(out.status.code(), Some(code), "{cmd}");
        if code != 0 {
            assert!(text(&out.stderr).starts_with(&format!("command failed: {cmd} (exit: {code})")));
        }
    }
}

// ---- retry ----

#[test]
fn retry_tries_three_times_with_a_pause() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!("echo x >> {}; exit 42", attempts.display());
    let start = Instant::now();
    let out = run("retry", &[&cmd], &[("RETRY_SLEEP", "0.1")]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&attempts).unwrap(), "x\nx\nx\n");
    assert_eq!(
        text(&out.stderr),
        format!("Failed after 3 attempts: {cmd}\n")
    );
    assert!(took >= Duration::from_millis(200), "two pauses: {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "no pause after the last: {took:?}"
    );
}

#[test]
fn retry_stops_at_the_first_success() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!(
        "echo x >> {0}; [ $(wc -l < {0}) -ge 2 ] && echo ok",
        attempts.display()
    );
    let out = run("retry", &[&cmd], &[("RETRY_SLEEP", "0.1")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read_to_string(&attempts).unwrap(), "x\nx\n");
    assert_eq!(text(&out.stdout), "ok\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn retry_counts_a_signal_as_failure() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!("echo x >> {}; kill -TERM $$", attempts.display());
    let out = run("retry", &[&cmd], &[("RETRY_SLEEP", "0.1")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&attempts).unwrap(), "x\nx\nx\n");
}

#[test]
fn retry_statuses() {
    assert_eq!(run("retry", &["true"], &[]).status.code(), Some(0));
    let out = run("retry", &["exit 1"], &[("RETRY_SLEEP", "0")]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn retry_rejects_a_bad_sleep() {
    let out = run("retry", &["true"], &[("RETRY_SLEEP", "soon")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("RETRY_SLEEP=soon"));
}

// ---- echo_header ----

#[test]
fn echo_header_is_plain_in_a_log() {
    let out = run("echo_header", &["Building", "the thing"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "--- Building the thing ---\n");
}

#[test]
fn echo_header_is_highlighted_on_a_terminal() {
    let Some(out) = on_tty("echo_header", "Building it", &[]) else {
        return;
    };
    assert_eq!(out, "\x1b[1;34m--- Building it ---\x1b[0m\r\n");
}

// ---- parallelize ----

fn completed_line(out: &Output) -> String {
    lines(&out.stdout).pop().unwrap_or_default()
}

/// N and S of the closing `Completed run of N tests in S seconds.`
fn completed(out: &Output) -> (usize, u64) {
    let line = completed_line(out);
    let parsed = line
        .strip_prefix("Completed run of ")
        .and_then(|rest| rest.strip_suffix(" seconds."))
        .and_then(|rest| rest.split_once(" tests in "))
        .and_then(|(n, s)| Some((n.parse().ok()?, s.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("no closing line: {line:?}"))
}

#[test]
fn parallelize_runs_every_command_and_says_so() {
    let out = parallelize(Some("2"), "echo a\n\n\necho b\n  \necho c", &[]);
    assert_eq!(out.status.code(), Some(0));
    let mut lines = lines(&out.stdout);
    lines.pop();
    assert_eq!(completed(&out), (3, 0));
    lines.sort();
    assert_eq!(lines, ["a", "b", "c"]);
}

#[test]
fn parallelise_is_the_same_tool() {
    let mut child = tool("parallelise")
        .arg("1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"echo hi\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "hi\nCompleted run of 1 tests in 0 seconds.\n"
    );
}

#[test]
fn parallelize_never_runs_more_than_jobs_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (running, counts) = (dir.path().join("running"), dir.path().join("counts"));
    fs::create_dir(&running).unwrap();
    // Each job marks itself running, counts the marks (its own included), and unmarks at the end.
    let input: String = (0..9)
        .map(|i| {
            format!(
                "touch {r}/{i}; ls {r} | wc -l >> {c}; sleep 0.5; rm {r}/{i}\n",
                r = running.display(),
                c = counts.display()
            )
        })
        .collect();
    let out = parallelize(Some("3"), &input, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let seen: Vec<usize> = fs::read_to_string(&counts)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(seen.len(), 9);
    assert_eq!(
        seen.iter().max(),
        Some(&3),
        "at most 3, and 3 were used: {seen:?}"
    );
    let (n, secs) = completed(&out);
    assert_eq!(n, 9);
    assert!((1..5).contains(&secs), "three rounds of 0.5 s: {secs}");
}

#[test]
fn parallelize_keeps_each_jobs_output_together() {
    let job = |name: &str| {
        format!("for i in 1 2 3; do echo {name}$i; echo {name}-err$i >&2; sleep 0.1; done")
    };
    let out = parallelize(Some("2"), &format!("{}\n{}\n", job("a"), job("b")), &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for name in ["a", "b"] {
        let together =
            format!("{name}1\n{name}-err1\n{name}2\n{name}-err2\n{name}3\n{name}-err3\n");
        assert!(stdout.contains(&together), "{stdout}");
    }
}

#[test]
fn parallelize_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let joblog = dir.path().join("joblog");
    let queued: String = (0..5)
        .map(|i| format!("touch {}/queued{i}\n", dir.path().display()))
        .collect();
    let input = format!("sleep 30\nsleep 30\nsleep 0.3; exit 3\n{queued}");
    let start = Instant::now();
    let out = parallelize(Some("3"), &input, &[("JOBLOG", joblog.to_str().unwrap())]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(completed(&out).0, 3);
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no queued job started: {left:?}");
    let log = fs::read_to_string(&joblog).unwrap();
    let mut statuses: Vec<&str> = log.lines().map(|l| l.split('\t').nth(1).unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, ["143", "143", "3"], "{log}");
    assert!(text(&out.stderr).contains("job 3 failed (exit 3)"));
}

#[test]
fn parallelize_runs_everything_with_no_fail_fast() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let input = format!("exit 1\ntouch {d}/a\nexit 42\ntouch {d}/b\n");
    let out = parallelize(Some("1"), &input, &[("NO_FAIL_FAST", "1")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(dir.path().join("a").exists() && dir.path().join("b").exists());
    assert_eq!(completed(&out).0, 4);
}

#[test]
fn parallelize_writes_the_joblog() {
    let dir = tempfile::tempdir().unwrap();
    let joblog = dir.path().join("joblog");
    let input = "true\nexit 42\necho hi\nkill -TERM $$\n";
    let out = parallelize(
        Some("2"),
        input,
        &[("NO_FAIL_FAST", "1"), ("JOBLOG", joblog.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    let mut rows: Vec<(usize, i32, String)> = fs::read_to_string(&joblog)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "{line}");
            let secs: f64 = fields[2].parse().unwrap();
            assert!((0.0..10.0).contains(&secs), "{line}");
            (
                fields[0].parse().unwrap(),
                fields[1].parse().unwrap(),
                fields[3].to_string(),
            )
        })
        .collect();
    rows.sort();
    let expected = [
        (1, 0, "true"),
        (2, 42, "exit 42"),
        (3, 0, "echo hi"),
        (4, 143, "kill -TERM $$"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|&(seq, code, cmd)| (seq, code, cmd.to_string()))
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn parallelize_tells_where_its_own_joblog_is() {
    let out = parallelize(Some("1"), "true\n", &[]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    let path = stderr
        .lines()
        .find_map(|l| l.strip_prefix("parallelize: joblog: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    let log = fs::read_to_string(path).unwrap();
    fs::remove_file(path).unwrap();
    assert!(
        log.starts_with("1\t0\t") && log.ends_with("\ttrue\n"),
        "{log}"
    );
}

#[test]
fn parallelize_default_jobs_and_bad_jobs() {
    let out = parallelize(None, "exit 0\necho x\n", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(completed(&out).0, 2);
    assert_eq!(parallelize(Some("0"), "true\n", &[]).status.code(), Some(2));
}

#[test]
fn parallelize_shows_progress_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    fs::write(&commands, "true\n").unwrap();
    let Some(out) = on_tty("parallelize", &format!("1 < {}", commands.display()), &[]) else {
        return;
    };
    assert!(out.contains("0/1 done, 1 running, 0 failed"), "{out:?}");
    assert!(out.contains("Completed run of 1 tests"), "{out:?}");
}

// ---- signals ----

/// The pids of the live (not zombie) processes in process group `pgid`.
fn live_in_group(pgid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split(' ').collect();
        if fields[0] != "Z" && fields[2] == pgid.to_string() {
            pids.push(pid);
        }
    }
    pids
}

/// A helper under test, killed and reaped if the test fails before it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `name CMD` where CMD writes its shell's pid (the leader of the job's own process
/// group) to a file and then sleeps 30 s; returns the helper and that pid once it runs.
fn start_sleeper(name: &str, envs: &[(&str, &str)], dir: &Path) -> (Running, u32) {
    let pidfile = dir.join("pid");
    let cmd = format!(
        "echo $$ > {}.tmp; mv {0}.tmp {0}; sleep 30; echo after",
        pidfile.display()
    );
    let child = Running(
        tool(name)
            .arg(&cmd)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(pid) = fs::read_to_string(&pidfile) {
            // Give bash the moment it needs to start the sleep.
            sleep(Duration::from_millis(200));
            return (child, pid.trim().parse().unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "{name} never started its command"
        );
        sleep(Duration::from_millis(20));
    }
}

fn signal_ends_it(name: &str, envs: &[(&str, &str)], signal: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let (mut running, group) = start_sleeper(name, envs, dir.path());
    let child = &mut running.0;
    assert!(!live_in_group(group).is_empty());
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(5) {
            panic!("{name} {envs:?} still running 5 s after SIG{signal}");
        }
        sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(code),
        "{name} {envs:?} after SIG{signal}"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while !live_in_group(group).is_empty() {
        assert!(Instant::now() < deadline, "{name} left its command running");
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_ends_retry_and_its_command() {
    signal_ends_it("retry", &[("RETRY_SLEEP", "0.1")], "TERM", 143);
}

#[test]
fn sigterm_ends_denoise_and_its_command() {
    signal_ends_it("denoise", &[], "TERM", 143);
    signal_ends_it("denoise", &[("DENOISE", "1")], "TERM", 143);
}

#[test]
fn sigint_ends_denoise_and_dump_fail() {
    signal_ends_it("denoise", &[("DENOISE", "1")], "INT", 130);
    signal_ends_it("dump_fail", &[], "INT", 130);
}

#[test]
fn sigterm_during_retrys_pause_ends_it() {
    let start = Instant::now();
    let mut child = tool("retry")
        .arg("false")
        .env("RETRY_SLEEP", "30")
        .spawn()
        .unwrap();
    sleep(Duration::from_millis(300));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(status.code(), Some(143));
}

#[test]
fn sigterm_stops_parallelize() {
    let dir = tempfile::tempdir().unwrap();
    let joblog = dir.path().join("joblog");
    let mut child = tool("parallelize")
        .arg("2")
        .env("JOBLOG", &joblog)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let input = format!(
        "sleep 30\nsleep 30\ntouch {}/queued\n",
        dir.path().display()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    sleep(Duration::from_millis(500));
    let start = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(143));
    assert!(!dir.path().join("queued").exists());
    assert_eq!(completed(&out).0, 2);
    let statuses: HashSet<String> = fs::read_to_string(&joblog)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(statuses, HashSet::from(["143".to_string()]));
}

// ---- run by hand, in the foreground of a terminal ----

#[test]
fn commands_run_by_hand_can_use_the_terminal() {
    // stty changes the terminal's settings: a process outside its foreground group is stopped.
    let cmd = "'stty -echo; stty echo; echo ok'";
    let runs = [
        ("denoise", vec![]),
        ("denoise", vec![("DENOISE", "1")]),
        ("dump_fail", vec![]),
        ("retry", vec![]),
    ];
    for (name, envs) in runs {
        let Some(mut script) = on_terminal(name, cmd, &envs) else {
            return;
        };
        let out = script.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name} {envs:?} hung or failed");
        assert!(text(&out.stdout).contains("ok"), "{}", text(&out.stdout));
    }
}

#[test]
fn ctrl_c_on_the_terminal_stops_retry() {
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = format!("'echo x >> {}; sleep 30'", attempts.display());
    let Some(mut script) = on_terminal("retry", &cmd, &[("RETRY_SLEEP", "0")]) else {
        return;
    };
    let mut child = Running(
        script
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !attempts.exists() {
        assert!(Instant::now() < deadline, "retry never started its command");
        sleep(Duration::from_millis(20));
    }
    sleep(Duration::from_millis(200));
    let typed = Instant::now();
    // What the terminal turns into SIGINT for its foreground process group.
    child.0.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            typed.elapsed() < Duration::from_secs(5),
            "Ctrl-C did not stop retry"
        );
        sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        fs::read_to_string(&attempts).unwrap(),
        "x\n",
        "no attempt after Ctrl-C"
    );
}

// ---- cache_log ----

/// Variables that select or authenticate a store, or change what cache_log does: each test sets
/// the ones it means.
const STORE_VARS: &[&str] = &[
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

/// `cache_log ARGS` with no store configured but what `envs` says (CI, CI3_STORE and the like
/// removed by `common::command`; HOME and XDG_CACHE_HOME in a temp dir of the test's).
fn cache_log_command(args: &[&str], envs: &[(&str, &str)], home: &Path) -> Command {
    let mut cmd = common::command(env!("CARGO_BIN_EXE_cache_log"));
    for var in STORE_VARS {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs cache_log with `input` on its stdin (written from a thread, so a large DUP=1 output
/// cannot deadlock).
fn cache_log(args: &[&str], envs: &[(&str, &str)], input: &[u8]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = cache_log_command(args, envs, home.path()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer
        .join()
        .unwrap()
        .expect("cache_log reads its stdin to the end");
    out
}

/// Bytes that are not text and span several read chunks.
fn log_bytes(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect()
}

fn is_key(key: &str) -> bool {
    key.len() == 16
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn cache_log_round_trip_through_a_directory_store() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let input = log_bytes(300_000);
    let out = cache_log(&["Build noir", "build-42"], &[("CI3_STORE", &url)], &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "no DUP: nothing on stdout");
    let object = store.path().join(".ci3/logs/build-42.log");
    assert!(
        fs::read(&object).unwrap() == input,
        "the object holds exactly stdin"
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "Log Build noir stored as .ci3/logs/build-42.log in directory {}.\n",
            store.path().display()
        )
    );
    // Stored at CI=0 (a directory store is always written), and only that object.
    let names: Vec<_> = fs::read_dir(store.path().join(".ci3/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["build-42.log"]);

    // The same KEY again replaces the log; an empty stdin is an empty log.
    let out = cache_log(&["Build noir", "build-42"], &[("CI3_STORE", &url)], b"");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read(&object).unwrap(), b"");
}

#[test]
fn cache_log_default_key_is_16_lowercase_hex() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let mut keys = Vec::new();
    for _ in 0..2 {
        let out = cache_log(&["tests"], &[("CI3_STORE", &url)], b"log\n");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        let key = stderr
            .split(".ci3/logs/")
            .nth(1)
            .and_then(|rest| rest.split(".log").next())
            .unwrap_or_else(|| panic!("no object name in {stderr:?}"))
            .to_string();
        assert!(is_key(&key), "{key:?}");
        let object = store.path().join(format!(".ci3/logs/{key}.log"));
        assert_eq!(fs::read(object).unwrap(), b"log\n");
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1], "a new key each time");
}

#[test]
fn cache_log_default_store_and_bad_keys() {
    // No store configured: the embedded default under XDG_CACHE_HOME.
    let home = tempfile::tempdir().unwrap();
    let mut child = cache_log_command(&["x", "k"], &[], home.path())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"default\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let object = home.path().join("cache/ci3/store/.ci3/logs/k.log");
    assert_eq!(fs::read(object).unwrap(), b"default\n");

    // A KEY becomes part of an object name: one plain component only.
    for bad in ["a/b", "..", ""] {
        let out = cache_log(&["x", bad], &[("CI3_STORE", "file:///nonexistent")], b"");
        assert_eq!(out.status.code(), Some(1), "KEY {bad:?}");
        assert!(text(&out.stderr).contains("invalid KEY"));
    }
}

#[test]
fn cache_log_dup_copies_stdin_to_stdout_as_it_arrives() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let home = tempfile::tempdir().unwrap();
    let mut child = cache_log_command(
        &["dup", "k"],
        &[("CI3_STORE", &url), ("DUP", "1")],
        home.path(),
    )
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    tx.send(n).unwrap();
                }
            }
        }
        all
    });
    stdin.write_all(b"first line\n").unwrap();
    stdin.flush().unwrap();
    // The first line comes out while stdin is still open: streaming, not at the end.
    rx.recv_timeout(Duration::from_secs(10))
        .expect("DUP=1 output only arrived at the end");
    let rest = log_bytes(200_000);
    stdin.write_all(&rest).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let dup = reader.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut expected = b"first line\n".to_vec();
    expected.extend_from_slice(&rest);
    assert!(dup == expected, "stdout is exactly stdin");
    assert!(fs::read(store.path().join(".ci3/logs/k.log")).unwrap() == expected);
}

#[test]
fn cache_log_dup_passes_through_when_nothing_is_stored() {
    // CI=0 and an S3 store: not stored, and not even contacted (the endpoint is closed).
    let input = log_bytes(150_000);
    let started = Instant::now();
    let out = cache_log(
        &["local run"],
        &[
            ("CI3_STORE", "s3://bucket/p"),
            ("CI3_S3_ENDPOINT", &closed_endpoint()),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("DUP", "1"),
        ],
        &input,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout == input);
    assert_eq!(
        text(&out.stderr),
        "Log local run not stored: CI=0 and S3_FORCE_UPLOAD not set.\n"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // S3 without credentials (none in the environment, no ~/.aws/credentials): not tried.
    let out = cache_log(
        &["anonymous"],
        &[
            ("CI", "1"),
            ("CI3_STORE", "s3://bucket/p"),
            ("CI3_S3_ENDPOINT", &closed_endpoint()),
        ],
        b"x\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        "Log anonymous not stored: no AWS credentials found.\n"
    );

    // A store configuration that cannot be right is a usage error of every tool (exit 2, one
    // line naming the variable and its value, before any work): a typo must not silently turn
    // logging off for a whole CI fleet.
    let out = cache_log(&["bad"], &[("CI3_STORE", "ftp://x"), ("DUP", "1")], b"y\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"y\n", "the log still reaches the terminal");
    assert!(text(&out.stderr).starts_with("cache_log: CI3_STORE=ftp://x: "));
    assert_eq!(text(&out.stderr).lines().count(), 1);
}

/// An endpoint on a loopback port nobody listens on.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn cache_log_unreachable_store_warns_and_exits_0() {
    let input = log_bytes(100_000);
    let started = Instant::now();
    let out = cache_log(
        &["ci run", "k"],
        &[
            ("CI", "1"),
            ("CI3_STORE", "s3://bucket/p"),
            ("CI3_S3_ENDPOINT", &closed_endpoint()),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("DUP", "1"),
        ],
        &input,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout == input, "stdin consumed and duplicated");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("Warning: log ci run not stored in s3://bucket/p/ at http://127.0.0.1:")
            && stderr.contains(": unreachable: "),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded retries"
    );
}

/// The S3 server of `test_source`.
struct S3Env {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
}

fn s3_env() -> S3Env {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run the tests with `bash ci3/run_tests` \
                 (it sources test_source, which starts the S3 server)"
            )
        })
    };
    S3Env {
        endpoint: var("CI3_S3_ENDPOINT"),
        bucket: var("CI3_S3_BUCKET"),
        access_key: var("AWS_ACCESS_KEY_ID"),
        secret_key: var("AWS_SECRET_ACCESS_KEY"),
    }
}

impl S3Env {
    /// A prefix of this test process's own, so runs never see each other's objects.
    fn prefix(&self, tag: &str) -> String {
        format!("cache-log-{}-{tag}/", std::process::id())
    }

    fn url(&self, tag: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix(tag))
    }

    /// The environment that points cache_log at this server, `secret` as the secret key.
    fn envs<'a>(&'a self, url: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("CI3_STORE", url),
            ("CI3_S3_ENDPOINT", &self.endpoint),
            ("AWS_ACCESS_KEY_ID", &self.access_key),
            ("AWS_SECRET_ACCESS_KEY", secret),
        ]
    }

    /// The store under `tag`, through the library, for reading back.
    fn store(&self, tag: &str) -> ci3::store::S3Store {
        let settings = ci3::store::S3Settings::at(
            &self.endpoint,
            &self.bucket,
            &self.prefix(tag),
            &self.access_key,
            &self.secret_key,
        );
        ci3::store::S3Store::new(settings, std::sync::Arc::new(ci3::report::Silent)).unwrap()
    }
}

fn s3_object(store: &dyn ci3::store::Store, name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    store.get(name, &mut out).unwrap().then_some(out)
}

#[test]
fn cache_log_round_trip_through_s3() {
    let s3 = s3_env();
    let url = s3.url("round-trip");
    let store = s3.store("round-trip");
    let mut envs = s3.envs(&url, &s3.secret_key);
    envs.push(("CI", "1"));
    let input = log_bytes(9 * 1024 * 1024 + 123);
    let out = cache_log(&["Build noir"], &envs, &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    let expected = "Log Build noir stored as .ci3/logs/";
    assert!(stderr.starts_with(expected), "{stderr}");
    let key = &stderr[expected.len()..expected.len() + 16];
    assert!(is_key(key), "{stderr}");
    assert!(
        stderr.ends_with(&format!(".log in {url} at {}.\n", s3.endpoint)),
        "{stderr}"
    );
    let name = format!(".ci3/logs/{key}.log");
    assert!(ci3::store::Store::exists(&store, &name).unwrap());
    assert!(
        s3_object(&store, &name).unwrap() == input,
        "the object's bytes are stdin"
    );
    assert!(ci3::store::Store::delete(&store, &name).unwrap());
}

#[test]
fn cache_log_stores_in_s3_only_in_ci_or_when_forced() {
    let s3 = s3_env();
    let url = s3.url("policy");
    let store = s3.store("policy");
    let envs = s3.envs(&url, &s3.secret_key);

    let out = cache_log(&["local", "local"], &envs, b"at CI=0\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("not stored: CI=0 and S3_FORCE_UPLOAD not set"));
    assert_eq!(s3_object(&store, ".ci3/logs/local.log"), None);

    let mut forced = envs.clone();
    forced.push(("S3_FORCE_UPLOAD", "1"));
    let out = cache_log(&["forced", "forced"], &forced, b"forced at CI=0\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        s3_object(&store, ".ci3/logs/forced.log").unwrap(),
        b"forced at CI=0\n"
    );

    let mut ci = envs.clone();
    ci.push(("CI", "true"));
    let out = cache_log(&["ci", "ci"], &ci, b"in CI\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s3_object(&store, ".ci3/logs/ci.log").unwrap(), b"in CI\n");
    for key in ["forced", "ci"] {
        ci3::store::Store::delete(&store, &format!(".ci3/logs/{key}.log")).unwrap();
    }
}

#[test]
fn cache_log_denied_store_warns_and_exits_0() {
    let s3 = s3_env();
    let url = s3.url("denied");
    let mut envs = s3.envs(&url, "wrong-secret");
    envs.extend([("CI", "1"), ("DUP", "1")]);
    let input = log_bytes(500_000);
    let out = cache_log(&["ci run", "denied"], &envs, &input);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a build never fails for its log"
    );
    assert!(out.stdout == input, "stdin consumed and duplicated");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with(&format!("Warning: log ci run not stored in {url}"))
            && stderr.contains(": denied: ")
            && stderr.contains("403"),
        "{stderr}"
    );
    assert_eq!(s3_object(&s3.store("denied"), ".ci3/logs/denied.log"), None);
}

// ---- the example script ----

#[test]
fn example_helpers_script_runs_green() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/helpers/build.sh");
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = common::command("bash");
    for var in STORE_VARS {
        cmd.env_remove(var);
    }
    // From another directory, with a TMPDIR of its own to see that it leaves nothing behind.
    cmd.arg(&script)
        .current_dir(std::env::temp_dir())
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let hash = tool_output(env!("CARGO_BIN_EXE_hash_str"), &["example", "helpers"]);
    for line in [
        "--- ci3 helpers tour ---".to_string(),
        format!("hash_str example helpers: {}", hash.trim()),
        "the command said this on stdout".into(),
        "dump_fail of a failing command exited 3; it printed on stderr:".into(),
        "  | command failed: echo 'output of a failing command'; exit 3 (exit: 3)".into(),
        "Executing: for i in $(seq 100); do echo line $i; done".into(),
        "retry succeeded after 3 attempts.".into(),
        "parallelize wrote a joblog of 4 jobs (number, exit, seconds, command):".into(),
        "spelled parallelise".into(),
        "build log of the helpers tour".into(),
        "Read back from the store (2 lines): build log of the helpers tour".into(),
        "Every helper ran.".into(),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{stdout}"
        );
    }
    assert!(stdout.contains("Completed run of 4 tests in "), "{stdout}");
    assert!(stdout.contains("done ("), "{stdout}");
    assert!(
        stderr.contains("Log helpers tour stored as .ci3/logs/"),
        "{stderr}"
    );
    let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

fn tool_output(program: &str, args: &[&str]) -> String {
    text(&common::command(program).args(args).output().unwrap().stdout)
}
