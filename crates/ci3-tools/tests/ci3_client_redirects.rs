//! The transport's redirect rules (spec 2.1, 3.1) as `ci3_client` meets them: two stubs on std
//! `TcpListener`s, a front that answers a request naming a status (`/kv/r307`) with that status
//! and a `Location` on the other stub (or on itself for `s307`), and that other stub recording
//! what arrives. 301/302/303 become a body-less GET (HEAD stays HEAD), 307/308 send the body
//! again, credentials go to the server's own host only, and a sixth redirect is an error. An
//! answer cut short of its `Content-Length` fails the command.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use common::exe::exe;
use common::http_stub::{listen, read_request, Incoming};
use common::{command, Output};

/// One request as a stub saw it.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

struct Stub {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    /// A ci3 server (`/health`, the preflight) that redirects `…/rNNN` to `other` (`…/sNNN` to
    /// itself, under `/moved`) and `…/loop…` to itself with one more `x`, and answers 200.
    fn start(other: Option<u16>) -> Stub {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        let port = listen(move |stream, _| serve(stream, &shared, other));
        Stub { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What reached it beyond the health probe and the preflight.
    fn requests(&self) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        let probe = |s: &&Seen| s.path == "/health" || s.path == "/kv/mget";
        seen.iter().filter(|s| !probe(s)).cloned().collect()
    }
}

/// Answers one request and closes the connection.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, other: Option<u16>) {
    let Some(Incoming {
        method,
        path,
        headers,
        body,
    }) = read_request(&stream)
    else {
        return;
    };
    seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorization: headers.get("authorization").cloned(),
        body: body.clone(),
    });
    let name = path.rsplit('/').next().unwrap_or_default();
    if name == "short" {
        // An answer cut off: 10 bytes of the 100 announced, then the connection closes.
        let mut out = stream;
        let _ = out.write_all(b"HTTP/1.1 200 X\r\nContent-Length: 100\r\n\r\nonly ten b");
        return;
    }
    let status: u16 = name.get(1..4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (status, location, answer) = match (name.chars().next(), status) {
        _ if path == "/health" => (200, None, b"ci3-server".to_vec()),
        _ if path == "/kv/mget" => (200, None, b"\n".to_vec()),
        _ if name.starts_with("loop") => (302, Some(format!("{path}x")), Vec::new()),
        _ if path.starts_with("/moved") => (200, None, b"landed".to_vec()),
        (Some('r'), 300..=399) if other.is_some() => {
            let location = format!("http://127.0.0.1:{}{path}", other.unwrap_or(0));
            (status, Some(location), Vec::new())
        }
        (Some('s'), 300..=399) => (status, Some(format!("/moved{path}")), Vec::new()),
        _ => (200, None, b"landed".to_vec()),
    };
    let location = location.map_or(String::new(), |l| format!("Location: {l}\r\n"));
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{location}\r\n",
        answer.len()
    );
    let mut out = stream;
    let _ = out.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = out.write_all(&answer);
    }
}

/// `ci3_client ARGS` against `server` with the password `s3cret`.
fn client(server: &str, args: &[&str]) -> Output {
    let mut cmd: Command = command(exe("ci3_client"));
    cmd.args(args)
        .env("CI3_SERVER", server)
        .env("CI3_PASSWORD", "s3cret")
        .env_remove("CI3_SERVER_TOKEN")
        .env_remove("_CI3_CHECKED")
        .stdin(Stdio::null());
    let out = cmd.output().expect("spawn ci3_client");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The one request that reached `stub`, failing with what did otherwise.
fn only(stub: &Stub) -> Seen {
    let requests = stub.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests[0].clone()
}

#[test]
fn see_other_family_becomes_a_bodyless_get_and_head_stays_head() {
    for status in [301, 302, 303] {
        let target = Stub::start(None);
        let front = Stub::start(Some(target.port));
        let key = format!("r{status}");
        let out = client(&front.url(), &["kv_set", &key, "value"]);
        assert_eq!(out.code, 0, "{status}: {}", out.stderr);
        let front_put = only(&front);
        assert_eq!(
            (front_put.method.as_str(), front_put.body.as_slice()),
            ("PUT", &b"value"[..])
        );
        let moved = only(&target);
        assert_eq!(moved.method, "GET", "{status}");
        assert_eq!(moved.path, format!("/kv/{key}"));
        assert!(moved.body.is_empty(), "{status}: {moved:?}");

        let target = Stub::start(None);
        let front = Stub::start(Some(target.port));
        let exists = client(
            &front.url(),
            &["artifact_exists", &format!("r{status}.tar.gz")],
        );
        assert_eq!(exists.code, 0, "{status}: {}", exists.stderr);
        assert_eq!(only(&target).method, "HEAD", "{status}");
    }
}

#[test]
fn temporary_and_permanent_redirects_send_the_body_again() {
    for status in [307, 308] {
        let target = Stub::start(None);
        let front = Stub::start(Some(target.port));
        let key = format!("r{status}");
        let out = client(&front.url(), &["kv_set", &key, "value", "60"]);
        assert_eq!(out.code, 0, "{status}: {}", out.stderr);
        let moved = only(&target);
        assert_eq!(
            (moved.method.as_str(), moved.path.as_str()),
            ("PUT", format!("/kv/{key}?ttl=60").as_str()),
            "{status}"
        );
        assert_eq!(moved.body, b"value", "{status}");

        // A file body is streamed again from the start.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"artifact bytes").unwrap();
        let name = format!("r{status}.tar.gz");
        let put = client(
            &front.url(),
            &["artifact_put", &name, &file.display().to_string()],
        );
        assert_eq!(put.code, 0, "{status}: {}", put.stderr);
        let moved = target.requests().last().cloned().unwrap();
        assert_eq!(moved.method, "PUT");
        assert_eq!(moved.body, b"artifact bytes", "{status}");
    }
}

#[test]
fn credentials_stay_with_the_servers_host() {
    let target = Stub::start(None);
    let front = Stub::start(Some(target.port));
    // To another host (here another port of the same address: another origin).
    assert_eq!(client(&front.url(), &["kv_get", "r307"]).stdout, "landed\n");
    assert!(
        only(&front)
            .authorization
            .is_some_and(|a| a.starts_with("Basic ")),
        "the server itself gets the password"
    );
    let moved = only(&target);
    assert_eq!(moved.authorization, None, "{moved:?}");
    // On the same host the credentials go along.
    let front = Stub::start(None);
    assert_eq!(client(&front.url(), &["kv_get", "s302"]).stdout, "landed\n");
    let requests = front.requests();
    assert_eq!(
        requests.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(),
        ["/kv/s302", "/moved/kv/s302"]
    );
    assert!(
        requests.iter().all(|s| s.authorization.is_some()),
        "{requests:?}"
    );
}

#[test]
fn a_sixth_redirect_is_an_error() {
    let front = Stub::start(None);
    let out = client(&front.url(), &["log_get", "loop"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("Log not found: loop (")
            && out.stderr.contains("more than 5 redirects"),
        "{}",
        out.stderr
    );
    let paths: Vec<String> = front.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        ["", "x", "xx", "xxx", "xxxx", "xxxxx"].map(|x| format!("/logs/loop{x}")),
        "the request and five redirects"
    );
}

#[test]
fn an_answer_short_of_its_length_fails() {
    let stub = Stub::start(None);
    let out = client(&stub.url(), &["log_get", "short"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("/logs/short"), "{}", out.stderr);
}
