//! The test cache through a ci3 server's kv (spec 3.1, 3.7 group 2): `run_test_cmd` in CI keeps
//! the passing log on the server and sets `hash_str_orig(line)` to its id; `filter_test_cmds`
//! skips what passed, 2,000 lines at a time through `POST /kv/mget`; nothing goes to the
//! store's `.ci3/tests/`; a failed test's log is kept on the server and linked.

mod common;

use common::pipeline::{Served, HASH, SERVED_PASSWORD};
use common::server::{basic, Answer};

/// The `Authorization` header of the server's password.
fn auth() -> String {
    basic("aztec", SERVED_PASSWORD)
}

fn get(s: &Served, path: &str) -> Answer {
    s.server
        .ask("GET", path, &[("Authorization", &auth())], None)
}

const CI: &[(&str, &str)] = &[("CI", "1")];

#[test]
fn run_test_cmd_records_the_passing_log_id_and_filter_skips_it() {
    let s = Served::new();
    let line = format!("{HASH}:CPUS=1 echo passed-output");
    let out = s.p.run_test_cmd(&line, &s.vars(CI));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key = ci3::cache::test_cache::key(line.as_bytes());
    let value = get(&s, &format!("/kv/{key}"));
    assert_eq!(value.status, 200, "{}", out.stderr);
    let id = value.text();
    assert_eq!(id.len(), 16, "a log id: {id}");
    let log = get(&s, &format!("/logs/{id}"));
    assert_eq!(log.status, 200);
    assert!(log.text().contains("passed-output"), "{}", log.text());
    // The store's own test cache is not written when a server is the store.
    assert!(!s.p.store_dir.path().join(".ci3/tests").exists());

    // Outside CI nothing is recorded.
    let local = format!("{HASH}:CPUS=1 echo local");
    assert_eq!(s.p.run_test_cmd(&local, &s.vars(&[])).code, 0);
    let local_key = ci3::cache::test_cache::key(local.as_bytes());
    assert_eq!(get(&s, &format!("/kv/{local_key}")).status, 404);

    // 2,000 lines: 1,000 passed (one by run_test_cmd, the rest set as it sets them), 1,000 not.
    let mut input = String::new();
    let mut kept = String::new();
    let mut skipped = String::new();
    for i in 0..2000 {
        let l = match i {
            0 => line.clone(),
            _ => format!("{HASH} echo test-{i}"),
        };
        if i % 2 == 0 {
            if i > 0 {
                let k = ci3::cache::test_cache::key(l.as_bytes());
                let put = s.server.ask(
                    "PUT",
                    &format!("/kv/{k}?ttl=600"),
                    &[("Authorization", &auth())],
                    Some(b"0123456789abcdef"),
                );
                assert_eq!(put.status, 204);
            }
            skipped.push_str(&format!("SKIPPED: {l}\n"));
        } else {
            kept.push_str(&format!("{l}\n"));
        }
        input.push_str(&format!("{l}\n"));
    }
    let out = s.p.pipe("filter_test_cmds", &[], &s.vars(CI), &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, kept);
    assert_eq!(out.stderr, skipped);

    // A wrong password: nothing is skipped, and filter_test_cmds says why.
    let mut wrong = s.vars(&[]);
    wrong[1] = ("CI3_PASSWORD", "wrong");
    let out = s.p.pipe("filter_test_cmds", &[], &wrong, &input);
    assert_eq!(out.stdout, input);
    assert!(
        out.stderr.contains("refused the credentials"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_failed_test_keeps_its_log_on_the_server() {
    let s = Served::new();
    let line = format!("{HASH}:CPUS=1 sh -c 'echo failing-output; exit 3'");
    let out = s.p.run_test_cmd(&line, &s.vars(CI));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let link = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Full output: "))
        .unwrap_or_else(|| panic!("no link: {}", out.stderr));
    let id = link
        .strip_prefix(&format!("{}/", s.url))
        .expect("a server link");
    let log = get(&s, &format!("/logs/{id}"));
    assert_eq!(log.status, 200);
    assert!(log.text().contains("failing-output"), "{}", log.text());
    let key = ci3::cache::test_cache::key(line.as_bytes());
    assert_eq!(get(&s, &format!("/kv/{key}")).status, 404);
}

#[test]
fn cache_log_is_readable_on_the_server_before_its_final_write() {
    use std::io::Write;
    use std::process::Stdio;
    let s = Served::new();
    let mut cmd = common::command(common::exe::exe("cache_log"));
    cmd.args(["Build x", "live-key"])
        .env("CI3_SERVER", &s.url)
        .env("CI3_PASSWORD", SERVED_PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first part\n").unwrap();
    stdin.flush().unwrap();
    // The writer is still running: what it has written so far is on the server.
    common::server::until(
        "the live log on the server",
        std::time::Duration::from_secs(60),
        || get(&s, "/logs/live-key").text() == "first part\n",
    );
    stdin.write_all(b"second\n").unwrap();
    drop(stdin);
    let out = common::pipeline::finish(child);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(get(&s, "/logs/live-key").text(), "first part\nsecond\n");
    assert_eq!(out.stderr, format!("Build x log id: {}/live-key\n", s.url));
}
