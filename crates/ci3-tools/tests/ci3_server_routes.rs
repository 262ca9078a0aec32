//! ci3_server's routes (spec 1.2, 3.4, 3.5), as upstream's client sends them, over a directory
//! store: each answer's status, headers and bytes, and the objects it leaves in the store.

mod common;

use std::path::Path;

use common::server::{dir_store, gzip, Server};

fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::run(
        &dir_store(&dir.path().join("store")),
        &dir.path().join("xdg"),
        &[],
    );
    (dir, server)
}

fn stored(dir: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join("store").join(name)).ok()
}

/// The stored bytes of an expiring entry: `\0ci3exp\0`, a big-endian expiry, the content.
fn expiring(bytes: &[u8]) -> (u64, &[u8]) {
    assert_eq!(&bytes[..8], b"\0ci3exp\0", "{bytes:?}");
    (
        u64::from_be_bytes(bytes[8..16].try_into().unwrap()),
        &bytes[16..],
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn health_and_root_say_what_answers() {
    let (dir, server) = server();
    let health = server.get("/health");
    assert_eq!(health.status, 200);
    assert_eq!(health.body, b"ci3-server", "exactly, no newline");
    let identity = format!(
        "ci3-rs/1 store=file://{} auth=none reads=auth",
        dir.path().join("store").display()
    );
    assert_eq!(health.header("x-ci3-server"), Some(identity.as_str()));
    assert_eq!(health.header("x-ci3-features"), Some("objects"));
    let head = server.ask("HEAD", "/health", &[], None);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("content-length"), Some("10"));
    let root = server.get("/");
    assert_eq!(root.status, 200);
    assert_eq!(root.text(), format!("ci3-server\n{identity}\n"));
}

#[test]
fn logs_are_replaced_read_listed_and_browsed() {
    let (dir, server) = server();
    let before = now();
    assert_eq!(server.put("/logs/abc123", b"first\n").status, 204);
    assert_eq!(
        server
            .ask(
                "PUT",
                "/logs/abc123?final=1",
                &[("Content-Encoding", "gzip")],
                Some(&gzip(b"line 1\nline 2\n"))
            )
            .status,
        204
    );
    let log = server.get("/logs/abc123");
    assert_eq!(log.status, 200);
    assert_eq!(
        log.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(log.body, b"line 1\nline 2\n", "stored decompressed");
    for browse in ["/abc123", "/abc123.txt"] {
        assert_eq!(server.get(browse).body, b"line 1\nline 2\n", "{browse}");
    }
    let head = server.ask("HEAD", "/logs/abc123", &[], None);
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("14"))
    );
    assert!(head.body.is_empty());
    // Where cache_log keeps logs too, expiring after the 14 days a ttl-less log gets.
    let (expires, content) = {
        let bytes = stored(dir.path(), ".ci3/logs/abc123.log").unwrap();
        let (at, content) = expiring(&bytes);
        (at, content.to_vec())
    };
    assert_eq!(content, b"line 1\nline 2\n");
    assert!((before + 14 * 86400..=now() + 14 * 86400).contains(&expires));

    let missing = server.get("/logs/nope");
    assert_eq!(
        (missing.status, missing.text()),
        (404, "Log not found: nope\n".into())
    );
    assert_eq!(server.get("/nope").status, 404);

    for id in ["b", "a", "c/deeper"] {
        assert_eq!(
            server
                .put(&format!("/logs/test-timings/run1/{id}"), b"t")
                .status,
            204
        );
    }
    assert_eq!(server.put("/logs/test-timings/run10/x", b"t").status, 204);
    let listed = server.get("/logs/test-timings/run1/");
    assert_eq!((listed.status, listed.text()), (200, "a\nb\n".into()));
    let none = server.get("/logs/test-timings/none/");
    assert_eq!((none.status, none.body.len()), (200, 0));
}

#[test]
fn kv_values_and_the_batch_read() {
    let (dir, server) = server();
    assert_eq!(server.put("/kv/hash1", b"log-id-1\n").status, 204);
    assert_eq!(
        server.put("/kv/dir/hash2?ttl=604800", b"log-id-2").status,
        204
    );
    assert_eq!(
        stored(dir.path(), ".ci3/kv/hash1.kv").unwrap(),
        b"log-id-1\n"
    );
    let (_, value) = {
        let bytes = stored(dir.path(), ".ci3/kv/dir/hash2.kv").unwrap();
        let (at, value) = expiring(&bytes);
        (at, value.to_vec())
    };
    assert_eq!(value, b"log-id-2");
    let got = server.get("/kv/hash1");
    assert_eq!((got.status, got.body.as_slice()), (200, &b"log-id-1\n"[..]));
    let miss = server.get("/kv/nope");
    assert_eq!((miss.status, miss.body.len()), (404, 0));

    // One line per key, in order: values without trailing newlines, empty for misses and for
    // keys that are no valid name.
    let mget = server.post(
        "/kv/mget",
        b"hash1\nnope\ndir/hash2\n../etc/passwd\na b\nhash1\n",
    );
    assert_eq!(mget.status, 200);
    assert_eq!(mget.text(), "log-id-1\n\nlog-id-2\n\n\nlog-id-1\n");
    let gz = server.ask(
        "POST",
        "/kv/mget",
        &[("Content-Encoding", "gzip")],
        Some(&gzip(b"hash1\nnope")),
    );
    assert_eq!(gz.text(), "log-id-1\n\n", "the last key needs no newline");
    let empty = server.post("/kv/mget", b"");
    assert_eq!((empty.status, empty.body.len()), (200, 0));
    // What `ci3_client check` sends.
    let preflight = server.post("/kv/mget", b"ci3-preflight\n");
    assert_eq!((preflight.status, preflight.text()), (200, "\n".into()));
    let keys: String = (0..2000).map(|i| format!("k{i}\n")).collect();
    let many = server.post("/kv/mget", keys.as_bytes());
    assert_eq!(many.body, vec![b'\n'; 2000]);
}

#[test]
fn lists_keep_the_newest_lines_first() {
    let (dir, server) = server();
    for i in 1..=5 {
        let line = format!("01-02 10:00:0{i}: line {i}\n");
        let pushed = server.post("/lists/history_abc?max=3", line.as_bytes());
        assert_eq!(pushed.status, 204);
    }
    let list = server.get("/lists/history_abc");
    assert_eq!(list.status, 200);
    assert_eq!(
        list.text(),
        "01-02 10:00:05: line 5\n01-02 10:00:04: line 4\n01-02 10:00:03: line 3\n"
    );
    assert_eq!(
        server.get("/list/history_abc").text(),
        list.text(),
        "browse URL"
    );
    let entries = std::fs::read_dir(dir.path().join("store/.ci3/lists/history_abc/~")).unwrap();
    assert_eq!(entries.count(), 3, "pushes delete what max drops");
    assert_eq!(server.post("/lists/two", b"a\nb\r\n").status, 204);
    assert_eq!(
        server.get("/lists/two").text(),
        "a b\n",
        "inner newlines become spaces"
    );
    let absent = server.get("/lists/none");
    assert_eq!((absent.status, absent.body.len()), (404, 0));
    let bad_max = server.post("/lists/two?max=0", b"x\n");
    assert_eq!(bad_max.status, 400);
}

fn record(id: &str, status: &str) -> String {
    format!(r#"{{"status":"{status}","msg":"m","name":"n","author":"a","timestamp":{id}}}"#)
}

#[test]
fn run_records_by_section_newest_first() {
    let (dir, server) = server();
    let (first, second) = ("1712000000000123", "1712000000500456");
    for id in [first, second] {
        let put = server.put(
            &format!("/runs/merge-train/next/{id}"),
            record(id, "RUNNING").as_bytes(),
        );
        assert_eq!(put.status, 204);
    }
    let put = server.put(
        &format!("/runs/merge-train/next/{first}"),
        record(first, "PASSED").as_bytes(),
    );
    assert_eq!(put.status, 204, "a record is replaced");
    let one = server.get(&format!("/runs/merge-train/next/{first}"));
    assert_eq!(one.status, 200);
    assert_eq!(one.header("content-type"), Some("application/json"));
    assert_eq!(one.text(), record(first, "PASSED"));
    let section = server.get("/runs/merge-train/next");
    assert_eq!(section.status, 200);
    assert_eq!(
        section.text(),
        format!(
            "[{},{}]",
            record(second, "RUNNING"),
            record(first, "PASSED")
        )
    );
    let missing = server.get("/runs/merge-train/next/1");
    assert_eq!((missing.status, missing.text()), (404, "{}".into()));
    assert_eq!(server.get("/runs/unknown").text(), "[]");
    assert_eq!(
        stored(
            dir.path(),
            ".ci3/ci-runs/merge-train/next/~/99998287999999999876.json"
        )
        .unwrap(),
        record(first, "PASSED").as_bytes(),
        "named by the countdown of its id"
    );
    let names: Vec<String> =
        std::fs::read_dir(dir.path().join("store/.ci3/ci-runs/merge-train/next/~"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for bad in [
        r#"{"status":"PASSED"}"#.to_string(),
        record("1", "PASSED"),
        "not json".into(),
    ] {
        let put = server.put("/runs/prs/1712000000000123", bad.as_bytes());
        assert_eq!(put.status, 400, "{bad}");
    }
}

#[test]
fn artifacts_are_create_only() {
    let (dir, server) = server();
    let created = server.put("/artifacts/app-0123.tar.zst", b"first bytes");
    assert_eq!(created.status, 201);
    // A repeat is kept, its body read and dropped.
    let repeat = server.put("/artifacts/app-0123.tar.zst", b"other bytes");
    assert_eq!(repeat.status, 200);
    assert_eq!(repeat.header("x-ci3-existed"), Some("1"));
    let got = server.get("/artifacts/app-0123.tar.zst");
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("application/octet-stream"));
    assert_eq!(got.body, b"first bytes");
    assert_eq!(
        stored(dir.path(), "app-0123.tar.zst").unwrap(),
        b"first bytes"
    );
    let conditional = server.ask(
        "PUT",
        "/artifacts/app-0123.tar.zst",
        &[("If-None-Match", "*")],
        Some(b"third"),
    );
    assert_eq!(conditional.status, 412);
    let replaced = server.ask(
        "PUT",
        "/artifacts/app-0123.tar.zst",
        &[("X-CI3-Overwrite", "1")],
        Some(b"replaced"),
    );
    assert_eq!(replaced.status, 201);
    assert_eq!(server.get("/artifacts/app-0123.tar.zst").body, b"replaced");
    let head = server.ask("HEAD", "/artifacts/app-0123.tar.zst", &[], None);
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("8"))
    );
    let absent = server.ask("HEAD", "/artifacts/none.tar.zst", &[], None);
    assert_eq!(absent.status, 404);
    assert_eq!(server.get("/artifacts/none.tar.zst").status, 404);
    assert_eq!(
        server
            .put("/artifacts/sub/dir/x.tar.zst?ttl=604800", b"x")
            .status,
        201,
        "an artifact's ttl is ignored"
    );
    assert_eq!(stored(dir.path(), "sub/dir/x.tar.zst").unwrap(), b"x");
}

#[test]
fn objects_map_the_store_one_to_one() {
    let (dir, server) = server();
    assert_eq!(
        server.put("/objects/.ci3/manifest/a.json", b"{}").status,
        201
    );
    assert_eq!(
        server.put("/objects/.ci3/manifest/a.json", b"{1}").status,
        201,
        ".ci3/ objects are replaced"
    );
    assert_eq!(server.put("/objects/a%20b.tar", b"spaced").status, 201);
    assert_eq!(
        server.put("/objects/a%20b.tar", b"again").status,
        200,
        "artifacts are kept"
    );
    assert_eq!(stored(dir.path(), "a b.tar").unwrap(), b"spaced");
    assert_eq!(server.get("/objects/.ci3/manifest/a.json").body, b"{1}");
    let listed = server.get("/objects/?prefix=.ci3%2F");
    assert_eq!(listed.text(), ".ci3/manifest/a.json\n");
    let all = server.get("/objects/?max=1");
    assert_eq!(all.text(), ".ci3/manifest/a.json\n");
    let after = server.get("/objects/?after=.ci3%2Fmanifest%2Fa.json");
    assert_eq!(after.text(), "a b.tar\n");
    assert_eq!(
        server.ask("DELETE", "/objects/a%20b.tar", &[], None).status,
        204
    );
    assert_eq!(
        server.ask("DELETE", "/objects/a%20b.tar", &[], None).status,
        404
    );
    assert!(stored(dir.path(), "a b.tar").is_none());
    assert_eq!(server.get("/objects/?max=10001").status, 400);
    assert_eq!(server.get("/objects/?prefix=..%2Fx").status, 400);
}

#[test]
fn events_are_accepted_and_dropped() {
    let (_dir, server) = server();
    let event = server.post("/events/ci-run", br#"{"event":"started"}"#);
    assert_eq!(event.status, 204);
    assert_eq!(server.get("/events/ci-run").status, 405);
}
