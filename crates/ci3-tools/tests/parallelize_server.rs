//! `parallelize` in CI through a ci3 server runs each test line as `run_test_cmd` does (as
//! upstream's parallelize runs `run_test_cmd` per line): the log written live while the test
//! runs (`RUNNING (URL/ID): CMD`), the history and failed-tests lines pushed, and a failure
//! whose `.test_patterns.yml` entry names owners `FLAKED`, which does not fail the run.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::pipeline::{finish, Project, FLAKY_OWNED, HASH};
use common::server::Server;

#[test]
fn parallelize_writes_live_logs_lists_and_flakes_like_run_test_cmd() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url) = Server::guarded(dir.path(), "s3cret");
    let mut p = Project::new(None);
    p.envs.retain(|(k, _)| k != "CI3_STORE");
    let root = p.root().to_path_buf();
    std::fs::write(root.join(".test_patterns.yml"), FLAKY_OWNED).unwrap();
    std::fs::write(root.join("flaky.sh"), "echo flaking; exit 2\n").unwrap();
    let gate = root.join("gate");
    assert!(std::process::Command::new("mkfifo")
        .arg(&gate)
        .status()
        .unwrap()
        .success());
    let vars = [
        ("CI3_SERVER", url.as_str()),
        ("CI", "1"),
        ("CI3_PASSWORD", "s3cret"),
        ("TRACK_TEST_HISTORY", "1"),
        ("COMMIT_AUTHOR", "Ann"),
        ("COMMIT_MSG", "fix the thing"),
    ];
    let held = "sh -c 'echo started; cat gate; echo ended'";
    let lines = format!(
        "{HASH}:CPUS=1 bash flaky.sh\n{HASH}:CPUS=1 sh -c 'echo broke; exit 3'\n{HASH}:CPUS=1 {held}\n"
    );
    let mut child = p
        .cmd("parallelize", &["3"], &vars)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let _ = tx.send(line.clone());
            all.push(line);
        }
        all
    });
    // The held test's log is on the server, named on stdout, before the test ends.
    let running = loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) else {
            let _ = child.kill();
            std::fs::write(&gate, "").unwrap();
            panic!("parallelize said no RUNNING line while its test ran");
        };
        if line.starts_with("RUNNING") {
            break line;
        }
    };
    let id = running
        .strip_prefix(&format!("RUNNING ({url}/"))
        .and_then(|r| r.strip_suffix(&format!("): {held}")))
        .unwrap_or_else(|| panic!("not a RUNNING line: {running:?}"))
        .to_string();
    let client = |args: &[&str]| {
        let out = p
            .cmd(
                "ci3_client",
                args,
                &[("CI3_SERVER", &url), ("CI3_PASSWORD", "s3cret")],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(out)
    };
    assert_eq!(client(&["log_get", &id]).stdout, "started\n");
    assert!(child.try_wait().unwrap().is_none());
    std::fs::write(&gate, "through\n").unwrap();
    let all = reader.join().unwrap();
    let out = finish(child);
    // The flake does not fail the run; the failing test does.
    assert_eq!(out.code, 1, "{}", out.stderr);
    let flaked: Vec<&String> = all.iter().filter(|l| l.starts_with("FLAKED: ")).collect();
    assert_eq!(flaked.len(), 1, "{all:?}");
    assert!(flaked[0].starts_with("FLAKED: bash flaky.sh ("), "{all:?}");
    assert_eq!(
        client(&["log_get", &id]).stdout,
        "started\nthrough\nended\n"
    );

    let list = |name: &str| -> Vec<String> {
        let got = client(&["list_get", name]);
        assert_eq!(got.code, 0, "{name}: {}", got.stderr);
        // `MM-DD HH:MM:SS: ` off; the status word and the command are what is checked.
        got.stdout.lines().map(|l| l[16..].to_string()).collect()
    };
    let failed = list("failed_tests");
    assert_eq!(failed.len(), 2, "{failed:?}");
    let words: Vec<bool> = ["\x1b[35mFLAKED\x1b[0m", "\x1b[31mFAILED\x1b[0m"]
        .iter()
        .map(|w| failed.iter().any(|l| l.starts_with(w)))
        .collect();
    assert_eq!(words, [true, true], "{failed:?}");
    let history = |cmd: &str| format!("history_{}", ci3::hash::hash_str_orig(cmd.as_bytes()));
    let passed = list(&history(held));
    assert_eq!(passed.len(), 1);
    assert!(
        passed[0].starts_with(&format!("\x1b[32mPASSED\x1b[0m ({url}/{id}): {held} (")),
        "{passed:?}"
    );
    let _ = &server;
}
