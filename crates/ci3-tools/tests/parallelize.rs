//! parallelize (and its alias parallelise): every command run, at most JOBS at once, output kept
//! together, fail-fast, the joblog, progress on a terminal and the slow tests it lists.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::helpers::{completed, lines, on_tty, parallelize, text, tool};
use common::pipeline::{Project, HASH};

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
    let root = tempfile::tempdir().unwrap();
    let out = parallelize(
        Some("1"),
        "true\n",
        &[("root", root.path().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    let path = stderr
        .lines()
        .find_map(|l| l.strip_prefix("parallelize: joblog: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(Path::new(path), root.path().join("joblog.txt"));
    let log = fs::read_to_string(path).unwrap();
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

#[test]
fn parallelize_lists_slow_tests() {
    let p = Project::new(None);
    let input = format!("{HASH}:CPUS=1 sleep 1.2\n{HASH}:CPUS=1 true\n");
    let out = p.pipe("parallelize", &["2"], &[("CI3_SLOW_TEST", "1")], &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let warning = lines
        .iter()
        .position(|l| {
            *l == "WARNING: The following tests exceed 1 second runtimes. Break them up or rethink them."
        })
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(lines[warning + 1], "1: sleep 1.2");
    assert!(lines[warning + 2].starts_with("Completed run of 2 tests in "));
}
