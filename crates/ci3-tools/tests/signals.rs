//! Signals: SIGTERM and SIGINT end the helpers and the commands they run, and a helper run by
//! hand in the foreground of a terminal lets its command use it.

mod common;

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::helpers::{completed, on_terminal, text, tool};

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
