//! `ci3_client` (spec 2.2, 3.2, 3.7 group 1) against our server: every command's output and exit
//! code, `check` with the right, a wrong and no password, mget's misses, bad keys and exact line
//! count, ttl=1 expiry in get, listing and mget (a second server an hour ahead), usage and help,
//! a closed stdout, and the same commands in-process over a directory store with no server.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::exe::exe;
use common::server::{dir_store, Server};
use common::{command, Output};

/// `ci3_client ARGS` with `vars`, `stdin` fed, its output.
fn client(vars: &[(&str, &str)], args: &[&str], stdin: &[u8]) -> Output {
    client_with(exe("ci3_client"), vars, args, stdin)
}

fn client_with(program: &str, vars: &[(&str, &str)], args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd: Command = command(program);
    cmd.args(args)
        .env_remove("CI3_SERVER")
        .env_remove("CI3_PASSWORD")
        .env_remove("_CI3_CHECKED");
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ci3_client");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

struct Setup {
    dir: tempfile::TempDir,
    _server: Server,
    url: String,
}

impl Setup {
    fn new(args: &[&str]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("password"), "s3cret\n").unwrap();
        let password = dir.path().join("password").display().to_string();
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "PASSWORD" {
                    password.as_str()
                } else {
                    a
                }
            })
            .collect();
        let server = Server::run(&store(dir.path()), &dir.path().join("xdg"), &args);
        let url = format!("http://127.0.0.1:{}", server.port);
        Setup {
            dir,
            _server: server,
            url,
        }
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        client(&[("CI3_SERVER", &self.url)], args, stdin)
    }
}

fn store(dir: &Path) -> String {
    dir_store(&dir.join("store"))
}

fn record(id: &str, status: &str) -> String {
    format!(r#"{{"status":"{status}","msg":"m","name":"n","author":"a","timestamp":{id}}}"#)
}

#[test]
fn every_command_against_our_server() {
    let s = Setup::new(&[]);
    let ok = |out: &Output| assert_eq!(out.code, 0, "{}", out.stderr);

    let put = s.run(&["log_put", "run1/test-a"], b"line one\nline two\n");
    ok(&put);
    assert_eq!(put.stdout, "");
    let got = s.run(&["log_get", "run1/test-a"], b"");
    ok(&got);
    assert_eq!(got.stdout, "line one\nline two\n");
    ok(&s.run(&["log_put", "run1/test-b", "", "final"], b"b\n"));
    let listed = s.run(&["log_list", "run1"], b"");
    ok(&listed);
    assert_eq!(listed.stdout, "test-a\ntest-b\n");
    let missing = s.run(&["log_get", "run1/none"], b"");
    assert_eq!((missing.code, missing.stdout.as_str()), (1, ""));
    assert_eq!(missing.stderr, "Log not found: run1/none\n");

    ok(&s.run(&["kv_set", "k1", "v1"], b""));
    ok(&s.run(&["kv_set", "k2", "v2", "600"], b""));
    let one = s.run(&["kv_get", "k1"], b"");
    assert_eq!((one.code, one.stdout.as_str()), (0, "v1\n"));
    let absent = s.run(&["kv_get", "nothing"], b"");
    assert_eq!((absent.code, absent.stdout.as_str()), (0, "\n"));
    let many = s.run(&["kv_get", "k1", "nothing", "bad key", "k2", ".."], b"");
    assert_eq!((many.code, many.stdout.as_str()), (0, "v1\n\n\nv2\n\n"));

    ok(&s.run(&["list_push", "history_x", "first"], b""));
    ok(&s.run(&["list_push", "history_x", "second", "10"], b""));
    let list = s.run(&["list_get", "history_x"], b"");
    assert_eq!((list.code, list.stdout.as_str()), (0, "second\nfirst\n"));
    let no_list = s.run(&["list_get", "none"], b"");
    assert_eq!(
        (no_list.code, no_list.stderr.as_str()),
        (1, "List not found: none\n")
    );

    ok(&s.run(
        &["run_put", "prs", "1712"],
        record("1712", "RUNNING").as_bytes(),
    ));
    let run = s.run(&["run_get", "prs", "1712"], b"");
    assert_eq!(
        (run.code, run.stdout.clone()),
        (0, record("1712", "RUNNING"))
    );
    let no_run = s.run(&["run_get", "prs", "1713"], b"");
    assert_eq!(
        (no_run.code, no_run.stderr.as_str()),
        (1, "Run not found: prs/1713\n")
    );

    let file = s.dir.path().join("art.tar.gz");
    std::fs::write(&file, b"artifact bytes").unwrap();
    let file = file.display().to_string();
    assert_eq!(s.run(&["artifact_exists", "a-1.tar.gz"], b"").code, 1);
    ok(&s.run(&["artifact_put", "a-1.tar.gz", &file], b""));
    assert_eq!(s.run(&["artifact_exists", "a-1.tar.gz"], b"").code, 0);
    let art = s.run(&["artifact_get", "a-1.tar.gz"], b"");
    assert_eq!((art.code, art.stdout.as_str()), (0, "artifact bytes"));
    // A repeat keeps the first (create-only), and succeeds.
    std::fs::write(&file, b"other").unwrap();
    ok(&s.run(&["artifact_put", "a-1.tar.gz", &file], b""));
    assert_eq!(
        s.run(&["artifact_get", "a-1.tar.gz"], b"").stdout,
        "artifact bytes"
    );
    let no_art = s.run(&["artifact_get", "none.tar.gz"], b"");
    assert_eq!(
        (no_art.code, no_art.stderr.as_str()),
        (1, "Artifact not found: none.tar.gz\n")
    );

    let url = s.run(&["url", "run1/test-a"], b"");
    assert_eq!(url.stdout, format!("{}/run1/test-a\n", s.url));
    let public = client(
        &[
            ("CI3_SERVER", &s.url),
            ("CI3_PUBLIC_URL", "https://ci.example"),
        ],
        &["url", "x"],
        b"",
    );
    assert_eq!(public.stdout, "https://ci.example/x\n");

    let env = s.run(&["env"], b"");
    assert_eq!(env.code, 0, "{}", env.stderr);
    let lines: Vec<&str> = env.stdout.lines().collect();
    assert_eq!(lines[0], format!("export CI3_SERVER={}", s.url));
    assert_eq!(lines[1], format!("export CI3_PUBLIC_URL={}", s.url));
    assert!(lines[2].starts_with("export _CI3_CHECKED=") && lines[2].len() == 20 + 64);
    assert_eq!(
        &lines[3..],
        [
            "ci3_log_expire=172800",
            "ci3_artifact_expire=604800",
            "ci3_public_cache_url=https://build-cache.aztec-labs.com"
        ]
    );
}

#[test]
fn check_with_right_wrong_and_missing_password() {
    let s = Setup::new(&["--password-file", "PASSWORD"]);
    let with = |password: Option<&str>, args: &[&str]| {
        let mut vars = vec![("CI3_SERVER", s.url.as_str())];
        vars.extend(password.map(|p| ("CI3_PASSWORD", p)));
        client(&vars, args, b"")
    };
    let right = with(Some("s3cret"), &["check"]);
    assert_eq!(
        (right.code, right.stdout.as_str()),
        (0, ""),
        "{}",
        right.stderr
    );
    for password in [Some("wrong"), None] {
        let out = with(password, &["check"]);
        assert_eq!(out.code, 1, "{password:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("refused the credentials (HTTP 401)"),
            "{}",
            out.stderr
        );
        // No silent fallback: every command fails, reads and writes alike.
        let read = with(password, &["kv_get", "k"]);
        assert_eq!(
            (read.code, read.stdout.as_str()),
            (1, ""),
            "{}",
            read.stderr
        );
        assert_eq!(with(password, &["kv_set", "k", "v"]).code, 1);
    }
    // A check that passed is remembered for the process tree.
    let env = with(Some("s3cret"), &["env"]);
    let mark = env
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("export _CI3_CHECKED="));
    let mark = mark.expect("_CI3_CHECKED").to_string();
    let vars = [
        ("CI3_SERVER", s.url.as_str()),
        ("CI3_PASSWORD", "s3cret"),
        ("_CI3_CHECKED", &mark),
    ];
    assert_eq!(client(&vars, &["kv_set", "k", "v"], b"").code, 0);
    assert_eq!(client(&vars, &["kv_get", "k"], b"").stdout, "v\n");
    // A dead server named explicitly fails every command.
    let dead = format!("http://127.0.0.1:{}", common::server::free_port());
    let out = client(&[("CI3_SERVER", &dead)], &["kv_get", "k"], b"");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with(&format!("ci3_client: unreachable: ci3 server {dead}")),
        "{}",
        out.stderr
    );
}

#[test]
fn ttl_one_expires_in_get_listing_and_mget() {
    let s = Setup::new(&[]);
    assert_eq!(s.run(&["kv_set", "short", "gone", "1"], b"").code, 0);
    assert_eq!(s.run(&["kv_set", "long", "kept", "86400"], b"").code, 0);
    assert_eq!(s.run(&["log_put", "r/short", "1"], b"log\n").code, 0);
    assert_eq!(s.run(&["log_put", "r/long", "86400"], b"log\n").code, 0);
    let ahead = Server::run(
        &store(s.dir.path()),
        &s.dir.path().join("xdg"),
        &["--clock-offset", "3600"],
    );
    let url = format!("http://127.0.0.1:{}", ahead.port);
    let at = |args: &[&str]| client(&[("CI3_SERVER", &url)], args, b"");
    assert_eq!(at(&["kv_get", "short"]).stdout, "\n");
    assert_eq!(
        at(&["kv_get", "short", "long", "short"]).stdout,
        "\nkept\n\n"
    );
    assert_eq!(at(&["log_list", "r"]).stdout, "long\n");
    let gone = at(&["log_get", "r/short"]);
    assert_eq!(
        (gone.code, gone.stderr.as_str()),
        (1, "Log not found: r/short\n")
    );
}

#[test]
fn usage_help_and_closed_stdout() {
    let none = client(&[], &[], b"");
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.starts_with("Usage: ci3_client CMD ARGS"),
        "{}",
        none.stderr
    );
    let unknown = client(&[], &["frobnicate"], b"");
    assert_eq!(unknown.code, 2);
    assert!(unknown
        .stderr
        .starts_with("ci3_client: unknown command frobnicate\nUsage:"));
    for (args, usage) in [
        (
            &["log_put"][..],
            "usage: ci3_client log_put <id> [ttl] [final]\n",
        ),
        (
            &["kv_set", "k"][..],
            "usage: ci3_client kv_set <key> <value> [ttl]\n",
        ),
        (
            &["run_get", "prs"][..],
            "usage: ci3_client run_get <section> <id>\n",
        ),
    ] {
        let out = client(&[], args, b"");
        assert_eq!((out.code, out.stderr.as_str()), (2, usage));
    }
    // A reader that stops early: exit 0 all the same.
    let s = Setup::new(&[]);
    let big = "x".repeat(1 << 20) + "\n";
    assert_eq!(s.run(&["log_put", "big"], big.as_bytes()).code, 0);
    let mut child = command(exe("ci3_client"))
        .args(["log_get", "big"])
        .env("CI3_SERVER", &s.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ci_needs_a_server_and_fails_failed_writes() {
    let out = client(&[("CI", "1")], &["kv_set", "k", "v"], b"");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("CI=1 needs CI3_SERVER"),
        "{}",
        out.stderr
    );
    let s = Setup::new(&["--password-file", "PASSWORD"]);
    let vars = [
        ("CI", "1"),
        ("CI3_SERVER", s.url.as_str()),
        ("CI3_PASSWORD", "s3cret"),
    ];
    assert_eq!(client(&vars, &["kv_set", "k", "v"], b"").code, 0);
    // A write the server refuses (a run record without its fields) fails in CI only.
    let bad = client(&vars, &["run_put", "prs", "5"], b"{}");
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    let local = [("CI3_SERVER", s.url.as_str()), ("CI3_PASSWORD", "s3cret")];
    assert_eq!(client(&local, &["run_put", "prs", "5"], b"{}").code, 0);
}

#[test]
fn in_process_over_a_directory_store_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let vars = [("CI3_STORE", store.as_str())];
    let run = |args: &[&str], stdin: &[u8]| client(&vars, args, stdin);
    assert_eq!(run(&["log_put", "r/t1"], b"hello\n").code, 0);
    assert_eq!(run(&["log_get", "r/t1"], b"").stdout, "hello\n");
    assert_eq!(run(&["log_list", "r"], b"").stdout, "t1\n");
    assert_eq!(run(&["kv_set", "k", "v"], b"").code, 0);
    assert_eq!(run(&["kv_get", "k", "none", "k"], b"").stdout, "v\n\nv\n");
    assert_eq!(run(&["list_push", "l", "one"], b"").code, 0);
    assert_eq!(run(&["list_push", "l", "two"], b"").code, 0);
    assert_eq!(run(&["list_get", "l"], b"").stdout, "two\none\n");
    assert_eq!(
        run(&["run_put", "prs", "9"], record("9", "PASSED").as_bytes()).code,
        0
    );
    assert_eq!(
        run(&["run_get", "prs", "9"], b"").stdout,
        record("9", "PASSED")
    );
    let file = dir.path().join("f");
    std::fs::write(&file, b"bytes").unwrap();
    assert_eq!(
        run(
            &["artifact_put", "n.tar.gz", &file.display().to_string()],
            b""
        )
        .code,
        0
    );
    assert_eq!(run(&["artifact_exists", "n.tar.gz"], b"").code, 0);
    assert_eq!(run(&["artifact_get", "n.tar.gz"], b"").stdout, "bytes");
    // Same objects as a server over that store serves (spec 3.5).
    assert!(dir.path().join("store/.ci3/logs/r/t1.log").is_file());
    assert!(dir.path().join("store/.ci3/kv/k.kv").is_file());
    let server = Server::run(&store, &dir.path().join("xdg"), &[]);
    let url = format!("http://127.0.0.1:{}", server.port);
    let via = client(&[("CI3_SERVER", &url)], &["list_get", "l"], b"");
    assert_eq!(via.stdout, "two\none\n");
    assert_eq!(
        client(&[("CI3_SERVER", &url)], &["log_get", "r/t1"], b"").stdout,
        "hello\n"
    );
    // Without a server nor a store: writes are dropped, reads say so.
    let off = client(&[("CI3_SERVER", "")], &["log_get", "x"], b"");
    assert_eq!(
        (off.code, off.stderr.as_str()),
        (1, "No ci3 server available.\n")
    );
    let off_kv = client(&[("CI3_SERVER", "")], &["kv_get", "a", "b"], b"");
    assert_eq!((off_kv.code, off_kv.stdout.as_str()), (0, "\n\n"));
    let env = client(&[("CI3_SERVER", "")], &["env"], b"");
    assert!(
        env.stdout.contains("export USE_TEST_CACHE=0\n"),
        "{}",
        env.stdout
    );
}

/// Upstream's own `ci3_client`, when `CI3_UPSTREAM_CLIENT` names a local copy of it, against
/// our server (it reads credentials its own way: run it without a password).
#[test]
fn upstream_client_when_asked() {
    let Ok(upstream) = std::env::var("CI3_UPSTREAM_CLIENT") else {
        eprintln!("CI3_UPSTREAM_CLIENT is not set: upstream's ci3_client was not asked for");
        return;
    };
    let s = Setup::new(&[]);
    // Its own configuration file must not name another server or password.
    let config = s.dir.path().join("no-config.json");
    let vars = [
        ("CI3_SERVER", s.url.as_str()),
        ("CI3_CONFIG", config.to_str().unwrap()),
    ];
    let run = |args: &[&str], stdin: &[u8]| client_with(&upstream, &vars, args, stdin);
    // `check` came with 242ff3de; a copy from before it answers it as an unknown command.
    let help = run(&[], b"").stderr;
    let check = run(&["check"], b"");
    match help.lines().any(|l| l.trim_start().starts_with("check")) {
        true => assert_eq!(check.code, 0, "{}", check.stderr),
        false => {
            eprintln!("this copy of upstream's ci3_client has no `check` command");
            assert_eq!(check.code, 2, "{}", check.stderr);
        }
    }
    assert_eq!(run(&["url", "u/1"], b"").stdout, format!("{}/u/1\n", s.url));
    assert_eq!(run(&["log_put", "u/1"], b"up\n").code, 0);
    assert_eq!(run(&["log_get", "u/1"], b"").stdout, "up\n");
    assert_eq!(run(&["kv_set", "a", "1"], b"").code, 0);
    assert_eq!(run(&["kv_get", "a", "b", "a"], b"").stdout, "1\n\n1\n");
    assert_eq!(run(&["list_push", "l", "x"], b"").code, 0);
    assert_eq!(run(&["list_get", "l"], b"").stdout, "x\n");
    assert_eq!(
        run(&["run_put", "prs", "3"], record("3", "PASSED").as_bytes()).code,
        0
    );
    assert_eq!(
        run(&["run_get", "prs", "3"], b"").stdout,
        record("3", "PASSED")
    );
    let file = s.dir.path().join("f");
    std::fs::write(&file, b"bytes").unwrap();
    assert_eq!(
        run(
            &["artifact_put", "u.tar.gz", &file.display().to_string()],
            b""
        )
        .code,
        0
    );
    assert_eq!(run(&["artifact_exists", "u.tar.gz"], b"").code, 0);
    assert_eq!(run(&["artifact_get", "u.tar.gz"], b"").stdout, "bytes");
    assert_eq!(run(&["artifact_exists", "none.tar.gz"], b"").code, 1);
    let none = run(&["artifact_get", "none.tar.gz"], b"");
    assert_eq!(
        (none.code, none.stderr.as_str()),
        (1, "Artifact not found: none.tar.gz\n")
    );
    assert_eq!(run(&["log_put", "u/2", "60", "final"], b"two\n").code, 0);
    assert_eq!(run(&["log_list", "u"], b"").stdout, "1\n2\n");
    assert_eq!(run(&["list_push", "l", "y", "1"], b"").code, 0);
    assert_eq!(run(&["list_get", "l"], b"").stdout, "y\n");
    // What upstream wrote, ours reads, and the other way round.
    assert_eq!(s.run(&["log_get", "u/1"], b"").stdout, "up\n");
    assert_eq!(s.run(&["kv_set", "ours", "2"], b"").code, 0);
    assert_eq!(run(&["kv_get", "ours"], b"").stdout, "2\n");
    assert_eq!(run(&["kv_get", "ours", "a"], b"").stdout, "2\n1\n");
}
