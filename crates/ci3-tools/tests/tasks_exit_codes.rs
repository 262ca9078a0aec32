//! The task tools' exit codes: a configuration that cannot be right (a malformed `.app.toml`,
//! a bad `CI3_STORE`) exits 2 with one line naming the file or the variable, in every tool and
//! through `baur`; a signal to `task_run` stops every task's process group and exits 128+N.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::run;
use common::tasks::{app, task, Fixture, FILES};

/// The tools (with their arguments) that must refuse a configuration that cannot be right.
const TOOLS: [(&str, &[&str]); 3] = [
    ("task_status", &[]),
    ("task_run", &[]),
    ("baur", &["status"]),
];

fn assert_config_error(f: &Fixture, vars: &[(&str, &str)], names: &str) {
    for (tool, args) in TOOLS {
        let mut cmd = f.cmd_in(f.repo.path(), tool, args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = run(&mut cmd);
        assert_eq!(out.code, 2, "{tool}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{tool}: {}", out.stderr);
        assert!(out.stderr.contains(names), "{tool}: {}", out.stderr);
        assert!(!f.repo.join("a/ran").exists(), "{tool} ran a task");
    }
}

#[test]
fn a_malformed_app_toml_exits_2_naming_the_file() {
    let text = "name = \"a\n[[Task]]\nname = \"b\"\ncommand = [\"touch\", \"ran\"]\n";
    let f = Fixture::committed(&[("a/.app.toml", text)]);
    assert_config_error(&f, &[], "a/.app.toml");
}

#[test]
fn a_bad_store_exits_2_naming_the_variable() {
    let f = Fixture::committed(&[
        (
            "a/.app.toml",
            &app("a", &task("b", "[\"touch\", \"ran\"]", FILES)),
        ),
        ("a/x.txt", "x"),
    ]);
    assert_config_error(&f, &[("CI3_STORE", "ftp://x")], "CI3_STORE");
}

/// Polls `done` every 20 ms until it holds or `limit` has passed.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Whether process `pid` is gone (a zombie counts as gone: it runs nothing).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn sigterm_stops_the_tasks_process_groups_and_exits_143() {
    let script = "echo $$ > pid; exec sleep 60";
    let f = Fixture::committed(&[(
        "a/.app.toml",
        &app(
            "a",
            &task("sleeps", &format!("[\"sh\", \"-c\", \"{script}\"]"), ""),
        ),
    )]);
    let pid_file = f.repo.join("a/pid");
    let mut child = f
        .cmd_in(f.repo.path(), "task_run", &[])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn task_run");
    let started = wait_until(Duration::from_secs(30), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
    });
    if !started {
        let _ = child.kill();
        panic!("the task never started: {:?}", child.wait_with_output());
    }
    let task_pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(!gone(&task_pid), "the task runs");
    let kill = run(common::command("kill").args(["-TERM", &child.id().to_string()]));
    assert_eq!(kill.code, 0, "{}", kill.stderr);
    let mut status = None;
    let exited = wait_until(Duration::from_secs(20), || {
        status = child.try_wait().expect("wait for task_run");
        status.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = run(common::command("kill").args(["-KILL", &task_pid]));
        panic!("task_run did not exit after SIGTERM");
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.unwrap().code(), Some(143), "{stderr}");
    assert!(
        wait_until(Duration::from_secs(5), || gone(&task_pid)),
        "the task's sleep {task_pid} still runs: {stderr}"
    );
    assert!(Path::new(&pid_file).exists());
}
