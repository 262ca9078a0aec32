//! run_test_cmd: one test line with its knobs, from `root`, under a timeout that stops its whole
//! process group, and the test cache it records passes in.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::pipeline::{Project, HASH};

#[test]
fn run_test_cmd_exports_the_knobs_and_runs_from_root() {
    let p = Project::new(None);
    let line =
        format!("{HASH}:NAME=knobs:NET=1 echo \"$CPUS $MEM $TIMEOUT $NAME $NET\"; pwd; exit 3");
    let out = p.run_test_cmd(&line, &[]);
    assert_eq!(out.code, 3);
    let root = p.root().canonicalize().unwrap();
    assert_eq!(
        out.stdout,
        format!(
            "FAILED: echo \"$CPUS $MEM $TIMEOUT $NAME $NET\"; pwd; exit 3 (0s) (code: 3)\n\
             2 8g 600s knobs 1\n{}\n",
            root.display()
        )
    );
    // The line's knobs over the caller's; MEM follows CPUS.
    let line = format!("{HASH}:CPUS=3 echo \"$CPUS $MEM $TIMEOUT\"; false");
    let out = p.run_test_cmd(&line, &[("CPUS", "5"), ("TIMEOUT", "1h")]);
    assert!(out.stdout.ends_with("\n3 12g 1h\n"), "{}", out.stdout);
    // A pass shows only its status line.
    let out = p.run_test_cmd(&format!("{HASH} echo quiet"), &[]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "PASSED: echo quiet (0s)\n")
    );
    // A plain command: the whole line is the command.
    let out = p.run_test_cmd("echo plain; exit 4", &[]);
    assert_eq!(out.code, 4);
    assert_eq!(
        out.stdout,
        "FAILED: echo plain; exit 4 (0s) (code: 4)\nplain\n"
    );
    assert_eq!(p.run_test_cmd("", &[]).code, 0);
}

#[test]
fn run_test_cmd_stops_the_whole_group_at_the_timeout() {
    let p = Project::new(None);
    let line = format!("{HASH}:TIMEOUT=1s sleep 30 & echo $! >bg.pid; echo started; wait");
    let started = std::time::Instant::now();
    let out = p.run_test_cmd(&line, &[]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out.code, 124, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "FAILED: sleep 30 & echo $! >bg.pid; echo started; wait (1s) (code: 124)\n\
         started\ntimeout: sending signal TERM to command 'bash' (TIMEOUT=1s)\n"
    );
    // The whole output is kept as a log in the (directory) store; stderr says where.
    let object = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Full output: "))
        .and_then(|r| r.split(" in directory ").next())
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        object.starts_with(".ci3/logs/") && object.ends_with(".log"),
        "{object}"
    );
    assert_eq!(
        fs::read_to_string(p.store_dir.path().join(object)).unwrap(),
        "started\ntimeout: sending signal TERM to command 'bash' (TIMEOUT=1s)\n"
    );
    let pid = p.read("bg.pid").trim().to_string();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let alive =
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "));
    assert!(!alive, "the background sleep {pid} was stopped too");
}

#[test]
fn run_test_cmd_refuses_what_it_cannot_run() {
    let p = Project::new(None);
    // A PATH with bash and nothing else: no docker, no podman.
    let bin = tempfile::tempdir().unwrap();
    let bash = which("bash");
    std::os::unix::fs::symlink(&bash, bin.path().join("bash")).unwrap();
    let path = bin.path().display().to_string();
    let out = p.run_test_cmd(&format!("{HASH}:ISOLATE=1 echo inside"), &[("PATH", &path)]);
    assert_eq!(out.code, 125);
    assert_eq!(out.stdout, "FAILED: echo inside (0s) (code: 125)\n");
    assert_eq!(
        out.stderr,
        "run_test_cmd: ISOLATE=1 needs a container engine (docker or podman on PATH) and none \
         was found; not running: echo inside\n"
    );
    let out = p.run_test_cmd(&format!("{HASH}:CPUS=0 echo x"), &[]);
    assert_eq!(out.code, 125);
    assert!(
        out.stderr.starts_with("run_test_cmd: invalid CPUS '0'"),
        "{}",
        out.stderr
    );
}

fn which(program: &str) -> PathBuf {
    let out = Command::new("bash")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The object of a line in the directory store, if any.
fn entry(p: &Project, line: &str) -> Option<String> {
    let key = ci3::hash::hash_str_orig(line.as_bytes());
    fs::read_to_string(p.store_dir.path().join(".ci3/tests").join(key)).ok()
}

#[test]
fn run_test_cmd_records_passes_in_ci_only() {
    let p = Project::new(None);
    let line = format!("{HASH}:CPUS=1 true");
    assert_eq!(p.run_test_cmd(&line, &[]).code, 0);
    assert_eq!(entry(&p, &line), None, "not at CI=0");
    let failing = format!("{HASH} false");
    assert_eq!(p.run_test_cmd(&failing, &[("CI", "1")]).code, 1);
    assert_eq!(entry(&p, &failing), None, "not a failure");
    let sentinel = "disabled-cache true";
    assert_eq!(p.run_test_cmd(sentinel, &[("CI", "1")]).code, 0);
    assert_eq!(entry(&p, sentinel), None, "not with the sentinel");
    let out = p.run_test_cmd(
        &line,
        &[("CI", "1"), ("GITHUB_RUN_URL", "https://ci.example/run/9")],
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let body = entry(&p, &line).expect("recorded");
    let fields: Vec<&str> = body
        .lines()
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(fields, ["time", "host", "run"], "{body}");
    assert!(body.ends_with("run: https://ci.example/run/9\n"));
}
