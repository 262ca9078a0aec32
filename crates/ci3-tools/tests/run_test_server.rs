//! `run_test_cmd` through a ci3 server in CI, as upstream's does it: the test's log is written
//! live while it runs (`RUNNING (URL): CMD` once it can be read), the `history_...` and
//! `failed_tests` list lines, and a failure whose `.test_patterns.yml` entry names owners is
//! `FLAKED` (exit 0) and recorded in the failed-tests list.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use common::pipeline::{finish, Out, Served, HASH};

/// The variables of a CI run through the server, with `extra` after them (`CI` is third).
fn ci_vars<'a>(s: &'a Served, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = s.vars(&[
        ("CI", "1"),
        ("COMMIT_AUTHOR", "Ann"),
        ("COMMIT_MSG", "fix the thing"),
    ]);
    vars.extend_from_slice(extra);
    vars
}

fn client(s: &Served, args: &[&str]) -> Out {
    let child =
        s.p.cmd("ci3_client", args, &s.vars(&[]))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    finish(child)
}

/// The lines of list NAME, newest first, their `MM-DD HH:MM:SS: ` checked and taken off
/// and their `(Ns)` made `(Ns)` whatever N was.
fn list(s: &Served, name: &str) -> Vec<String> {
    let out = client(s, &["list_get", name]);
    assert_eq!(out.code, 0, "list_get {name}: {}", out.stderr);
    out.stdout
        .lines()
        .map(|l| {
            let (when, rest) = l.split_at(16);
            let b = when.as_bytes();
            assert!(
                b[2] == b'-' && b[5] == b' ' && b[8] == b':' && &when[14..] == ": ",
                "{l}"
            );
            seconds_as_n(rest)
        })
        .collect()
}

/// `(12s)` as `(Ns)`: how long a test took is not what these tests check.
fn seconds_as_n(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find(" (") {
        out.push_str(&rest[..open + 2]);
        rest = &rest[open + 2..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with("s)") {
            out.push('N');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

fn failed_id(out: &Out, url: &str) -> String {
    out.stderr
        .lines()
        .find_map(|l| l.strip_prefix(&format!("Full output: {url}/")))
        .unwrap_or_else(|| panic!("no link: {}", out.stderr))
        .to_string()
}

#[test]
fn the_log_of_a_running_test_is_on_the_server_before_it_ends() {
    let s = Served::new();
    let fifo = s.p.root().join("gate");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let line = format!("{HASH}:CPUS=1 sh -c 'echo started; cat gate; echo ended'");
    let mut child =
        s.p.cmd("run_test_cmd", &[&line], &ci_vars(&s, &[]))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    // The first line on stdout says where the live log is, once it is there. Read on a
    // thread: a run_test_cmd that never says it must fail this test, not hang it.
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut first = Vec::new();
        let mut byte = [0u8];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            first.push(byte[0]);
        }
        tx.send(first).unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        rest
    });
    let Ok(first) = rx.recv_timeout(Duration::from_secs(120)) else {
        let _ = child.kill();
        std::fs::write(&fifo, "").unwrap();
        panic!("run_test_cmd said nothing while its test ran");
    };
    let first = String::from_utf8(first).unwrap();
    let command = "sh -c 'echo started; cat gate; echo ended'";
    let id = first
        .strip_prefix(&format!("RUNNING ({}/", s.url))
        .and_then(|r| r.strip_suffix(&format!("): {command}")))
        .unwrap_or_else(|| panic!("not a RUNNING line: {first:?}"))
        .to_string();
    let got = client(&s, &["log_get", &id]);
    assert_eq!((got.code, got.stdout.as_str()), (0, "started\n"));
    // The test is still blocked on the gate: it has not ended.
    assert!(child.try_wait().unwrap().is_none());
    std::fs::write(&fifo, "through the gate\n").unwrap();
    let rest = reader.join().unwrap();
    let out = finish(child);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(seconds_as_n(&rest), format!("PASSED: {command} (Ns)\n"));
    let got = client(&s, &["log_get", &id]);
    assert_eq!(got.stdout, "started\nthrough the gate\nended\n");
    // The passing log is the one the test cache names.
    let key = ci3::cache::test_cache::key(line.as_bytes());
    assert_eq!(client(&s, &["kv_get", &key]).stdout, format!("{id}\n"));
}

#[test]
fn ci_runs_push_history_and_failed_tests_lines() {
    let s = Served::new();
    let vars = ci_vars(&s, &[("TRACK_TEST_HISTORY", "1"), ("CI_DASHBOARD", "main")]);
    let pass = format!("{HASH}:CPUS=1 sh -c 'exit 0'");
    let out = s.p.run_test_cmd(&pass, &vars);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pass_id = client(
        &s,
        &["kv_get", &ci3::cache::test_cache::key(pass.as_bytes())],
    )
    .stdout
    .trim()
    .to_string();
    let fail = format!("{HASH}:CPUS=1 sh -c 'exit 3'");
    let out = s.p.run_test_cmd(&fail, &vars);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let fail_id = failed_id(&out, &s.url);

    let history = |cmd: &str| format!("history_{}", ci3::hash::hash_str_orig(cmd.as_bytes()));
    let author = "(\x1b[35mAnn\x1b[0m: fix the thing)";
    assert_eq!(
        list(&s, &history("sh -c 'exit 0'")),
        [format!(
            "\x1b[32mPASSED\x1b[0m ({}/{pass_id}): sh -c 'exit 0' (Ns) {author}",
            s.url
        )]
    );
    let failed = format!(
        "\x1b[31mFAILED\x1b[0m ({}/{fail_id}): sh -c 'exit 3' (Ns) (code: 3) {author}",
        s.url
    );
    assert_eq!(
        list(&s, &history("sh -c 'exit 3'")),
        std::slice::from_ref(&failed)
    );
    assert_eq!(list(&s, "failed_tests_main"), [failed]);

    // Not in a merge queue nor on a tracked branch: no history by default; outside CI, nothing.
    let other = format!("{HASH}:CPUS=1 sh -c 'exit 4'");
    s.p.run_test_cmd(&other, &ci_vars(&s, &[("TRACK_TEST_FAIL", "0")]));
    let mut local = ci_vars(&s, &[("TRACK_TEST_HISTORY", "1")]);
    local[2] = ("CI", "0");
    s.p.run_test_cmd(&other, &local);
    assert_eq!(
        client(&s, &["list_get", &history("sh -c 'exit 4'")]).code,
        1
    );
    assert_eq!(client(&s, &["list_get", "failed_tests"]).code, 1);
    // A `v*` target branch tracks history under its name.
    s.p.run_test_cmd(&other, &ci_vars(&s, &[("TARGET_BRANCH", "v3")]));
    let v3 = format!("{}_v3", history("sh -c 'exit 4'"));
    assert_eq!(list(&s, &v3).len(), 1);
    assert_eq!(list(&s, "failed_tests").len(), 1);
}

const PATTERNS: &str = r#"names:
  - ann: &ann "U0ANN"
tests:
  - regex: "flaky\\.sh"
    owners:
      - *ann
    flake_group_id: net
  - regex: "skipped\\.sh"
    skip: true
"#;

#[test]
fn a_failing_test_with_owners_flakes() {
    let s = Served::new();
    std::fs::write(s.p.root().join(".test_patterns.yml"), PATTERNS).unwrap();
    std::fs::write(s.p.root().join("flaky.sh"), "echo flaking; exit 2\n").unwrap();
    let flakes = s.p.root().join("flakes");
    let flakes_file = flakes.display().to_string();
    let line = format!("{HASH}:CPUS=1 bash flaky.sh");
    let out =
        s.p.run_test_cmd(&line, &ci_vars(&s, &[("FLAKES_FILE", &flakes_file)]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        seconds_as_n(&out.stdout),
        "FLAKED: bash flaky.sh (Ns) (code: 2) group:net\n"
    );
    let id = failed_id(&out, &s.url);
    let flaked = format!(
        "\x1b[35mFLAKED\x1b[0m ({}/{id}): bash flaky.sh (Ns) (code: 2) group:net \
         (\x1b[35mAnn\x1b[0m: fix the thing)",
        s.url
    );
    assert_eq!(list(&s, "failed_tests"), std::slice::from_ref(&flaked));
    let buffered = std::fs::read_to_string(&flakes).unwrap();
    assert_eq!(seconds_as_n(&buffered), format!("{flaked}\n"));
    assert_eq!(client(&s, &["log_get", &id]).stdout, "flaking\n");
    // A flake is not a pass: the test cache does not hold it.
    let key = ci3::cache::test_cache::key(line.as_bytes());
    assert_eq!(client(&s, &["kv_get", &key]).stdout, "\n");

    // Outside CI a flaky test fails, as upstream's; a test without owners fails in CI.
    let mut local = ci_vars(&s, &[]);
    local[2] = ("CI", "0");
    let out = s.p.run_test_cmd(&line, &local);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.starts_with("FAILED: bash flaky.sh ("),
        "{}",
        out.stdout
    );
    std::fs::write(s.p.root().join("other.sh"), "exit 2\n").unwrap();
    let out =
        s.p.run_test_cmd(&format!("{HASH}:CPUS=1 bash other.sh"), &ci_vars(&s, &[]));
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.starts_with("FAILED: bash other.sh ("),
        "{}",
        out.stdout
    );
}

#[test]
fn an_explicit_store_keeps_the_test_cache_beside_a_server() {
    let s = Served::new();
    let store = tempfile::tempdir().unwrap();
    let explicit = format!("file://{}", store.path().display());
    let vars = ci_vars(&s, &[("CI3_STORE", &explicit)]);
    let line = format!("{HASH}:CPUS=1 echo kept-here");
    let out = s.p.run_test_cmd(&line, &vars);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key = ci3::cache::test_cache::key(line.as_bytes());
    let entry = std::fs::read_to_string(store.path().join(".ci3/tests").join(&key)).unwrap();
    assert!(entry.starts_with("time: "), "{entry}");
    // Not in the server's kv...
    assert_eq!(client(&s, &["kv_get", &key]).stdout, "\n");
    // ...and filter_test_cmds finds it in the explicit store.
    let filtered =
        s.p.pipe("filter_test_cmds", &[], &vars, &format!("{line}\n"));
    assert_eq!((filtered.code, filtered.stdout.as_str()), (0, ""));
    assert_eq!(filtered.stderr, format!("SKIPPED: {line}\n"));
    // A failure's log still goes to the named server, linked.
    let fail = format!("{HASH}:CPUS=1 sh -c 'echo broke; exit 1'");
    let out = s.p.run_test_cmd(&fail, &vars);
    assert_eq!(out.code, 1);
    let id = failed_id(&out, &s.url);
    assert_eq!(client(&s, &["log_get", &id]).stdout, "broke\n");
}
