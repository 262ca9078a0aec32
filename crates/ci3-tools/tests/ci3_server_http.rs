//! ci3_server's HTTP conventions (spec 1.1, 3.6) in exact bytes: every 400 of a path, 405 with
//! `Allow`, 411, 413 decided before the body, 415, 431, short bodies that store nothing.

mod common;

use std::path::Path;

use common::server::{dir_store, gzip, parse, raw, Server};

fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::run(
        &dir_store(&dir.path().join("store")),
        &dir.path().join("xdg"),
        &[],
    );
    (dir, server)
}

/// Every file in the store (scratch files included), relative.
fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_bad_path_is_400() {
    let (dir, server) = server();
    for path in [
        "/kv/a//b",
        "/kv/a/",
        "/kv/.",
        "/kv/..",
        "/kv/%2e%2e",
        "/kv/%2E%2E/x",
        "/kv/a%2Fb",
        "/kv/a%2fb",
        "/kv/a%5Cb",
        "/kv/a\\b",
        "/kv/a%2",
        "/kv/a%zz",
        "/kv/a%20b",
        "/kv/x.expires",
        "/kv/x.json",
        "/kv/x.jsonl",
        "/kv/.tmp-x",
        "/kv/.ci3/kv/x",
        "/logs/.ci3/x",
        "/artifacts/.ci3/manifest/a",
        "/artifacts/a/../../etc/passwd",
        "/artifacts/..%2F..%2Fetc",
        "/lists/a~b",
        "/objects/a/../b",
        "/objects/.ci3-put-1-2-x",
        "/../etc/passwd",
    ] {
        for method in ["GET", "PUT"] {
            let body = (method == "PUT").then_some(&b"x"[..]);
            let answer = server.ask(method, path, &[], body);
            assert_eq!(answer.status, 400, "{method} {path}: {}", answer.text());
        }
    }
    let long_segment = format!("/kv/{}", "a".repeat(256));
    assert_eq!(server.get(&long_segment).status, 400);
    assert_eq!(server.get(&format!("/kv/{}", "a".repeat(255))).status, 404);
    let long_path = format!("/kv/{}", vec!["a".repeat(200); 6].join("/"));
    assert_eq!(server.put(&long_path, b"x").status, 400);
    for query in ["ttl=0", "ttl=-5", "ttl=soon", "ttl="] {
        let answer = server.put(&format!("/kv/k?{query}"), b"x");
        assert_eq!(answer.status, 400, "{query}");
    }
    assert_eq!(files(&dir.path().join("store")), Vec::<String>::new());
}

#[test]
fn methods_a_route_does_not_take_are_405_with_allow() {
    let (_dir, server) = server();
    for (method, path, allow) in [
        ("DELETE", "/kv/k", "GET, HEAD, PUT"),
        ("POST", "/kv/k", "GET, HEAD, PUT"),
        ("PUT", "/lists/l", "GET, HEAD, POST"),
        ("POST", "/logs/l", "GET, HEAD, PUT"),
        ("PUT", "/logs/prefix/", "GET, HEAD"),
        ("POST", "/artifacts/a", "GET, HEAD, PUT"),
        ("PUT", "/runs/prs", "GET, HEAD"),
        ("PATCH", "/objects/a", "GET, HEAD, PUT, DELETE, POST"),
        ("PUT", "/health", "GET, HEAD"),
        ("PUT", "/some-log", "GET, HEAD"),
    ] {
        let answer = server.ask(method, path, &[], Some(b""));
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
    }
}

#[test]
fn bodies_need_a_length_and_a_known_encoding() {
    let (dir, server) = server();
    let no_length = parse(&raw(
        server.port,
        b"PUT /kv/k HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    ));
    assert_eq!(no_length.status, 411);
    assert_eq!(no_length.header("content-length"), Some("24"));
    let chunked = parse(&raw(
        server.port,
        b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        false,
    ));
    assert_eq!(chunked.status, 411);
    assert_eq!(chunked.header("connection"), Some("close"));
    for (path, encoding) in [
        ("/kv/k", "br"),
        ("/logs/l", "deflate"),
        ("/artifacts/a.tar.zst", "gzip"),
        ("/objects/a", "gzip"),
    ] {
        let answer = server.ask(
            "PUT",
            path,
            &[("Content-Encoding", encoding)],
            Some(&gzip(b"x")),
        );
        assert_eq!(answer.status, 415, "{path} {encoding}");
    }
    let broken = server.ask(
        "PUT",
        "/kv/k",
        &[("Content-Encoding", "gzip")],
        Some(b"not gzip"),
    );
    assert_eq!(broken.status, 400);
    let broken_log = server.ask(
        "PUT",
        "/logs/l",
        &[("Content-Encoding", "gzip")],
        Some(b"nope"),
    );
    assert_eq!(broken_log.status, 400);
    let truncated = gzip(&[b'x'; 100_000]);
    let cut = server.ask(
        "PUT",
        "/logs/l",
        &[("Content-Encoding", "gzip")],
        Some(&truncated[..truncated.len() / 2]),
    );
    assert_eq!(cut.status, 400);
    assert_eq!(files(&dir.path().join("store")), Vec::<String>::new());
}

#[test]
fn too_large_is_413_before_the_body_is_read() {
    let (dir, server) = server();
    // Only the head is sent: an answer that comes without the body proves it was not awaited.
    for (path, length) in [
        ("/artifacts/big.tar.zst", 10u64 << 30 | 1),
        ("/objects/big", 10 << 30 | 1),
        ("/logs/big", (64 << 20) + 1),
        ("/kv/big", (64 << 10) + 1),
        ("/lists/big", (16 << 10) + 3),
        ("/runs/prs/1712", (1 << 20) + 1),
        ("/kv/mget", (1 << 20) + 1),
    ] {
        let method = if path.starts_with("/lists") || path == "/kv/mget" {
            "POST"
        } else {
            "PUT"
        };
        let head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n");
        let bytes = raw(server.port, head.as_bytes(), false);
        assert!(
            !bytes.starts_with(b"HTTP/1.1 100"),
            "no 100 Continue: {path}"
        );
        let answer = parse(&bytes);
        assert_eq!(answer.status, 413, "{path}: {}", answer.text());
        assert_eq!(answer.header("connection"), Some("close"), "{path}");
    }
    // Decompressed beyond the limit: refused too.
    let bomb = gzip(&vec![b'v'; (64 << 10) + 1]);
    let answer = server.ask(
        "PUT",
        "/kv/bomb",
        &[("Content-Encoding", "gzip")],
        Some(&bomb),
    );
    assert_eq!(answer.status, 413);
    let line = server.post("/lists/l", &vec![b'x'; (16 << 10) + 1]);
    assert_eq!(line.status, 413);
    let keys: String = (0..10_001).map(|i| format!("{i}\n")).collect();
    assert_eq!(server.post("/kv/mget", keys.as_bytes()).status, 413);
    assert_eq!(files(&dir.path().join("store")), Vec::<String>::new());
    // A smaller limit given on the command line.
    let small = Server::run(
        &dir_store(&dir.path().join("store")),
        &dir.path().join("xdg"),
        &["--max-artifact-size", "1K"],
    );
    assert_eq!(small.put("/artifacts/a", &[0; 1025]).status, 413);
    assert_eq!(small.put("/artifacts/a", &[0; 1024]).status, 201);
}

#[test]
fn a_short_body_stores_nothing() {
    let (dir, server) = server();
    for path in [
        "/kv/k",
        "/logs/l",
        "/artifacts/a.tar.zst",
        "/objects/o",
        "/runs/prs/1",
    ] {
        let request =
            format!("PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part");
        let answer = parse(&raw(server.port, request.as_bytes(), true));
        assert_eq!(answer.status, 400, "{path}");
        assert_eq!(answer.text(), "incomplete body\n");
        assert_eq!(answer.header("connection"), Some("close"));
    }
    let push = "POST /lists/l HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nline";
    assert_eq!(parse(&raw(server.port, push.as_bytes(), true)).status, 400);
    assert_eq!(files(&dir.path().join("store")), Vec::<String>::new());
    assert_eq!(server.get("/artifacts/a.tar.zst").status, 404);
}

#[test]
fn a_head_beyond_64_kib_is_431() {
    let (_dir, server) = server();
    let big = format!(
        "GET /kv/k HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(70_000)
    );
    let answer = parse(&raw(server.port, big.as_bytes(), false));
    assert_eq!(answer.status, 431);
    let fits = format!(
        "GET /kv/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(60_000)
    );
    assert_eq!(parse(&raw(server.port, fits.as_bytes(), false)).status, 404);
}

#[test]
fn one_connection_serves_requests_in_turn() {
    let (_dir, server) = server();
    let two = b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nvGET /kv/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let text = String::from_utf8(raw(server.port, two, false)).unwrap();
    assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nv"), "{text}");
}
