//! Our tools against a ci3 server that speaks only the upstream API (no `X-CI3-Features:
//! objects`): a stub on a std `TcpListener` keeps artifacts in memory and records every
//! request. Artifacts and flags work, deletion is a configuration error naming what is
//! missing; redirects to another host carry the body (307) but not the credentials.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::cache::{make_tree, snapshot, Env, Where};
use common::http_stub::{listen, read_request, Incoming};
use common::run;
use common::tasks::{app, task, Fixture, FILES};

/// One request as the stub saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
}

#[derive(Default)]
struct State {
    artifacts: HashMap<String, Vec<u8>>,
    seen: Vec<Seen>,
}

/// An upstream-API ci3 server; with `redirect_to`, every `/artifacts` request is answered
/// `307` to the same path on that port (0: its own).
struct Stub {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl Stub {
    fn start(redirect_to: Option<u16>) -> Stub {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let port = listen(move |stream, port| {
            let redirect_to = redirect_to.map(|to| if to == 0 { port } else { to });
            serve(stream, &shared, redirect_to)
        });
        Stub { port, state }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn artifact(&self, name: &str) -> Option<Vec<u8>> {
        self.state.lock().unwrap().artifacts.get(name).cloned()
    }
}

/// Answers one request and closes the connection.
fn serve(stream: TcpStream, state: &Mutex<State>, redirect_to: Option<u16>) {
    let Some(Incoming {
        method,
        path,
        headers,
        body,
    }) = read_request(&stream)
    else {
        return;
    };
    let mut state = state.lock().unwrap();
    state.seen.push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorization: headers.get("authorization").cloned(),
    });
    let name = path.strip_prefix("/artifacts/").map(String::from);
    let (status, extra, answer): (u16, String, Vec<u8>) = match (method.as_str(), name) {
        ("GET", None) if path == "/health" => (200, String::new(), b"ci3-server".to_vec()),
        (_, Some(_)) if redirect_to.is_some() => {
            let to = format!("http://127.0.0.1:{}{path}", redirect_to.unwrap());
            (307, format!("Location: {to}\r\n"), Vec::new())
        }
        ("GET" | "HEAD", Some(name)) => match state.artifacts.get(&name) {
            Some(bytes) => (200, String::new(), bytes.clone()),
            None => (404, String::new(), Vec::new()),
        },
        ("PUT", Some(name)) => match state.artifacts.contains_key(&name) {
            true if headers.contains_key("if-none-match") => (412, String::new(), Vec::new()),
            true => (200, String::new(), Vec::new()),
            false => {
                state.artifacts.insert(name, body);
                (201, String::new(), Vec::new())
            }
        },
        _ => (404, String::new(), Vec::new()),
    };
    drop(state);
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        answer.len()
    );
    let _ = out.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = out.write_all(&answer);
    }
}

fn tools(port: u16, cwd: &Path) -> Env {
    Env::new(Where::Dir("/nonexistent-never-used".into()), cwd)
        .var("CI3_STORE", &format!("ci3+http://127.0.0.1:{port}"))
}

#[test]
fn api_mode_keeps_artifacts_and_flags_and_refuses_deletion() {
    let stub = Stub::start(None);
    let tmp = tempfile::tempdir().unwrap();
    let build = make_tree(tmp.path());
    let before = snapshot(&build);
    let env = tools(stub.port, tmp.path());

    let up = env.run("cache_upload", &["app-a.tar.gz", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(stub.artifact("app-a.tar.gz").is_some());
    assert_eq!(env.run("cache_exists", &["app-a.tar.gz"]).code, 0);
    fs_remove(&build);
    let down = env.run("cache_download", &["app-a.tar.gz"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(snapshot(&build), before);

    let ci = tools(stub.port, tmp.path()).var("CI", "1");
    assert_eq!(ci.run("cache_upload_flag", &["tests-a"]).code, 0);
    assert!(stub.artifact("tests-a.flag").is_some());
    assert_eq!(ci.run("cache_download_flag", &["tests-a"]).code, 0);

    let delete = env.run("cache_delete", &["app-a.tar.gz"]);
    assert_eq!(delete.code, 2, "{}", delete.stderr);
    assert!(
        delete
            .stderr
            .contains("deleting objects needs a ci3 server with /objects"),
        "{}",
        delete.stderr
    );
    assert!(stub.artifact("app-a.tar.gz").is_some());
    // The task runner keeps its records as objects: not through the upstream API.
    let (_repo, mut cmd) = fixture_status(stub.port);
    let status = run(&mut cmd);
    assert_eq!(status.code, 2, "{}", status.stderr);
    assert!(
        status.stderr.contains("needs a ci3 server with /objects"),
        "{}",
        status.stderr
    );
    let health = stub.seen().iter().filter(|s| s.path == "/health").count();
    assert!(health >= 1);
    assert!(
        stub.seen().iter().all(|s| !s.path.starts_with("/objects")),
        "{:?}",
        stub.seen()
    );
}

#[test]
fn cache_gc_says_in_one_line_it_cannot_collect_without_listing() {
    let stub = Stub::start(None);
    let tmp = tempfile::tempdir().unwrap();
    let env = tools(stub.port, tmp.path());
    let gc = env.run("cache_gc", &["--dry-run"]);
    assert_eq!(gc.code, 2, "{}", gc.stderr);
    assert_eq!(gc.stdout, "");
    assert_eq!(gc.stderr.lines().count(), 1, "{}", gc.stderr);
    assert!(
        gc.stderr.starts_with("cache_gc: ")
            && gc.stderr.contains("cannot collect")
            && gc.stderr.contains("speaks only the upstream API"),
        "{}",
        gc.stderr
    );
    assert!(!gc.stderr.contains("Nothing to collect"), "{}", gc.stderr);
}

#[test]
fn redirects_carry_the_body_but_not_the_credentials_to_another_host() {
    let elsewhere = Stub::start(None);
    let front = Stub::start(Some(elsewhere.port));
    let tmp = tempfile::tempdir().unwrap();
    let build = make_tree(tmp.path());
    let before = snapshot(&build);
    let env = tools(front.port, tmp.path()).var("CI3_PASSWORD", "s3cret");

    // PUT answered 307: the body is sent again, to the other host, without Authorization.
    let up = env.run("cache_upload", &["app-r.tar.gz", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(elsewhere.artifact("app-r.tar.gz").is_some());
    fs_remove(&build);
    let down = env.run("cache_download", &["app-r.tar.gz"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(snapshot(&build), before);

    let front_seen = front.seen();
    assert!(
        front_seen.iter().all(|s| s
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))),
        "the server itself gets the credentials: {front_seen:?}"
    );
    let moved = elsewhere.seen();
    assert!(
        moved.iter().any(|s| s.method == "PUT") && moved.iter().any(|s| s.method == "GET"),
        "{moved:?}"
    );
    assert!(
        moved.iter().all(|s| s.authorization.is_none()),
        "no credentials for another host: {moved:?}"
    );
}

#[test]
fn endless_redirects_end_after_five() {
    let looping = Stub::start(Some(0));
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&mut tools(looping.port, tmp.path()).cmd("cache_exists", &["x.tar.gz"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("more than 5 redirects"),
        "{}",
        out.stderr
    );
    let hops = looping.seen().iter().filter(|s| s.method == "HEAD").count();
    assert_eq!(hops, 6, "the request and five redirects");
}

/// `task_status` of a one-task repository whose store is the stub, and the repository.
fn fixture_status(port: u16) -> (Fixture, std::process::Command) {
    let f = Fixture::committed(&[
        ("calc/a.txt", "1\n"),
        (
            "calc/.app.toml",
            &app("calc", &task("build", "[\"true\"]", FILES)),
        ),
    ]);
    let mut cmd = f.cmd_in(f.repo.path(), "task_status", &[]);
    cmd.env("CI3_STORE", format!("ci3+http://127.0.0.1:{port}"));
    (f, cmd)
}

fn fs_remove(dir: &Path) {
    std::fs::remove_dir_all(dir).unwrap();
}
