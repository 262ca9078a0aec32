//! `parallelize` reads stdin while it runs: a line written while another job still runs starts
//! at once (the ci3 half of issue 22: tests start as soon as their build appends them).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::helpers::{text, tool};

/// Waits until `path` exists; panics after `limit`, saying what never happened.
fn wait_for(path: &Path, limit: Duration, what: &str) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_line_written_while_a_job_runs_starts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut child = tool("parallelize")
        .arg("2")
        .env("JOBLOG", dir.path().join("joblog"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The first job runs until the second one has run: both only if the second line starts
    // while the first job runs and stdin is still open.
    writeln!(
        stdin,
        "touch {d}/first; i=0; while [ ! -e {d}/second ]; do i=$((i+1)); \
         [ $i -gt 600 ] && exit 1; sleep 0.05; done; echo first done"
    )
    .unwrap();
    stdin.flush().unwrap();
    wait_for(
        &dir.path().join("first"),
        Duration::from_secs(30),
        "the first line did not start before stdin ended",
    );
    writeln!(stdin, "touch {d}/second; echo second done").unwrap();
    stdin.flush().unwrap();
    wait_for(
        &dir.path().join("second"),
        Duration::from_secs(30),
        "the second line did not start while the first job ran",
    );
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("second done\nfirst done\n"), "{stdout}");
    assert!(stdout.contains("Completed run of 2 tests"), "{stdout}");
}
