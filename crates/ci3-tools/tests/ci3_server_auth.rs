//! Credentials (spec 3.3): Basic from `--password-file` (user `--user`, default aztec), Bearer
//! from `--token-file`, `--public-reads`; `/health` always open; 401 with `WWW-Authenticate`,
//! the body unread; upstream's `check` (the health probe, then `POST /kv/mget` with
//! `ci3-preflight`) with the right, a wrong and no password; no listening beyond loopback
//! without credentials.

mod common;

use common::exe::exe;
use common::server::{basic, dir_store, parse, raw, Server};
use common::{command, run};

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("password"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("token"), "tok-123").unwrap();
        Setup { dir }
    }

    fn server(&self, args: &[&str]) -> Server {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        let args: Vec<String> = args
            .iter()
            .map(|a| match *a {
                "PASSWORD" => path("password"),
                "TOKEN" => path("token"),
                other => other.to_string(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Server::run(
            &dir_store(&self.dir.path().join("store")),
            &self.dir.path().join("xdg"),
            &args,
        )
    }
}

/// What `ci3_client check` asks, in order; the status of the preflight.
fn check(server: &Server, authorization: Option<&str>) -> u16 {
    let health = server.get("/health");
    assert_eq!(
        (health.status, health.body.as_slice()),
        (200, &b"ci3-server"[..])
    );
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("Authorization", a))
        .into_iter()
        .collect();
    let preflight = server.ask("POST", "/kv/mget", &headers, Some(b"ci3-preflight\n"));
    if preflight.status == 200 {
        assert_eq!(preflight.text(), "\n");
    }
    preflight.status
}

#[test]
fn basic_auth_as_the_dashboard_takes_it() {
    let setup = Setup::new();
    let server = setup.server(&["--password-file", "PASSWORD"]);
    let identity = server.get("/health");
    assert!(
        identity
            .header("x-ci3-server")
            .unwrap()
            .ends_with(" auth=basic reads=auth"),
        "{identity:?}"
    );
    assert!(!identity.header("x-ci3-server").unwrap().contains("s3cret"));
    assert_eq!(check(&server, Some(&basic("aztec", "s3cret"))), 200);
    assert_eq!(check(&server, Some(&basic("aztec", "wrong"))), 401);
    assert_eq!(check(&server, Some(&basic("other", "s3cret"))), 401);
    assert_eq!(check(&server, Some("Bearer s3cret")), 401);
    assert_eq!(check(&server, None), 401);
    let refused = server.get("/kv/k");
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Basic realm=\"ci3\"")
    );
    assert_eq!(server.get("/").status, 401);
    // Refused without reading the body: the answer comes though the body never does.
    let head = b"PUT /artifacts/a.tar HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    let answer = parse(&raw(server.port, head, false));
    assert_eq!(answer.status, 401);
    assert_eq!(answer.header("connection"), Some("close"));
    let auth = basic("aztec", "s3cret");
    let written = server.ask("PUT", "/kv/k", &[("Authorization", &auth)], Some(b"v"));
    assert_eq!(written.status, 204);
    let read = server.ask("GET", "/kv/k", &[("Authorization", &auth)], None);
    assert_eq!(read.text(), "v");
}

#[test]
fn bearer_tokens_another_user_and_public_reads() {
    let setup = Setup::new();
    let server = setup.server(&[
        "--password-file",
        "PASSWORD",
        "--user",
        "ci",
        "--token-file",
        "TOKEN",
        "--public-reads",
    ]);
    let identity = server.get("/health");
    assert!(identity
        .header("x-ci3-server")
        .unwrap()
        .ends_with(" auth=basic+bearer reads=public"));
    assert_eq!(check(&server, Some("Bearer tok-123")), 200);
    assert_eq!(check(&server, Some(&basic("ci", "s3cret"))), 200);
    assert_eq!(check(&server, Some(&basic("aztec", "s3cret"))), 401);
    assert_eq!(check(&server, Some("Bearer tok-12")), 401);
    let put = server.ask(
        "PUT",
        "/kv/k",
        &[("Authorization", "Bearer tok-123")],
        Some(b"v"),
    );
    assert_eq!(put.status, 204);
    assert_eq!(server.get("/kv/k").text(), "v", "reads are public");
    assert_eq!(server.ask("HEAD", "/kv/k", &[], None).status, 200);
    let anonymous_write = server.put("/kv/k", b"w");
    assert_eq!(anonymous_write.status, 401);
    assert_eq!(
        anonymous_write.header("www-authenticate"),
        Some("Basic realm=\"ci3\"")
    );

    let tokens_only = setup.server(&["--token-file", "TOKEN"]);
    let refused = tokens_only.get("/kv/k");
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"ci3\"")
    );
}

#[test]
fn no_listening_beyond_loopback_without_credentials() {
    let setup = Setup::new();
    let store = dir_store(&setup.dir.path().join("store"));
    let refused =
        run(command(exe("ci3_server")).args(["run", "--host", "0.0.0.0", "--store", &store]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("--host 0.0.0.0: listening beyond this machine needs"),
        "{}",
        refused.stderr
    );
    let start = run(command(exe("ci3_server")).args(["start", "--host", "::", "--store", &store]));
    assert_eq!(start.code, 2, "{}", start.stderr);
    // Past the check with --allow-anonymous (the address is no interface here, so the listen
    // itself fails: exit 1, not 2).
    let anonymous = run(command(exe("ci3_server")).args([
        "run",
        "--host",
        "192.0.2.1",
        "--port",
        "9",
        "--allow-anonymous",
        "--store",
        &store,
    ]));
    assert_eq!(anonymous.code, 1, "{}", anonymous.stderr);
    assert!(
        anonymous.stderr.contains("cannot listen on 192.0.2.1:9"),
        "{}",
        anonymous.stderr
    );
    for (flag, file, why) in [
        ("--password-file", "missing", "No such file"),
        ("--token-file", "empty", "one non-empty line"),
    ] {
        let path = setup.dir.path().join(file);
        if file == "empty" {
            std::fs::write(&path, "\n").unwrap();
        }
        let path = path.display().to_string();
        let out = run(command(exe("ci3_server")).args(["run", flag, &path, "--store", &store]));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(why), "{}", out.stderr);
    }
}
