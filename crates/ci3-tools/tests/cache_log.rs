//! cache_log: logs stored under a key in the directory store and on the S3 server `test_source`
//! starts (`bash ci3/run_tests`), `--dup`, and stores that cannot be used.

mod common;

use common::exe::exe;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::helpers::{text, STORE_VARS};

/// `cache_log ARGS` with no store configured but what `envs` says (CI, CI3_STORE and the like
/// removed by `common::command`; HOME and XDG_CACHE_HOME in a temp dir of the test's).
fn cache_log_command(args: &[&str], envs: &[(&str, &str)], home: &Path) -> Command {
    let mut cmd = common::command(exe("cache_log"));
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
