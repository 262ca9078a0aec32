//! ttl (spec 1.1, 3.4): entries written with `ttl=1` are absent everywhere once expired (get,
//! listing, mget), and the sweep removes them from the store. Time passes without waiting: a
//! second server over the same store runs with its clock an hour ahead (`--clock-offset`, a
//! hidden flag for tests), a third an hour behind.

mod common;

use std::time::Duration;

use common::server::{dir_store, until, Server};

fn record(id: &str) -> String {
    format!(r#"{{"status":"PASSED","msg":"m","name":"n","author":"a","timestamp":{id}}}"#)
}

#[test]
fn expired_entries_are_absent_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir_store(&dir.path().join("store"));
    let xdg = dir.path().join("xdg");
    let writer = Server::run(&store, &xdg, &[]);
    for (path, body) in [
        ("/kv/short?ttl=1", "gone soon"),
        ("/kv/long?ttl=86400", "kept"),
        ("/kv/forever", "kept too"),
        ("/logs/run1/short?ttl=1", "log"),
        ("/logs/run1/long?ttl=86400", "log"),
    ] {
        assert_eq!(writer.put(path, body.as_bytes()).status, 204, "{path}");
    }
    assert_eq!(writer.post("/lists/l?ttl=1", b"short\n").status, 204);
    assert_eq!(writer.post("/lists/l", b"forever\n").status, 204);
    assert_eq!(writer.post("/lists/gone?ttl=1", b"short\n").status, 204);
    assert_eq!(
        writer
            .put("/runs/prs/1?ttl=1", record("1").as_bytes())
            .status,
        204
    );
    assert_eq!(
        writer.put("/runs/prs/2", record("2").as_bytes()).status,
        204
    );

    // An hour before, all is there.
    let behind = Server::run(&store, &xdg, &["--clock-offset", "-3600"]);
    assert_eq!(behind.get("/kv/short").text(), "gone soon");
    assert_eq!(
        behind.post("/kv/mget", b"short\nlong\nforever\n").text(),
        "gone soon\nkept\nkept too\n"
    );
    assert_eq!(behind.get("/logs/run1/").text(), "long\nshort\n");
    assert_eq!(behind.get("/lists/l").text(), "forever\nshort\n");
    assert_eq!(
        behind.get("/runs/prs").text(),
        format!("[{},{}]", record("2"), record("1"))
    );
    // An hour later, what had a second to live is not (whether its sweep, which starts at once,
    // has removed it yet or not).
    let ahead = Server::run(&store, &xdg, &["--clock-offset", "3600"]);
    assert_eq!(ahead.get("/kv/short").status, 404);
    assert_eq!(ahead.get("/kv/long").text(), "kept");
    assert_eq!(ahead.get("/kv/forever").text(), "kept too");
    assert_eq!(ahead.ask("HEAD", "/kv/short", &[], None).status, 404);
    assert_eq!(
        ahead.post("/kv/mget", b"short\nlong\nforever\n").text(),
        "\nkept\nkept too\n"
    );
    assert_eq!(ahead.get("/logs/run1/").text(), "long\n");
    assert_eq!(ahead.get("/logs/run1/short").status, 404);
    assert_eq!(ahead.get("/run1/short").status, 404, "browse URL");
    assert_eq!(ahead.get("/lists/l").text(), "forever\n");
    assert_eq!(ahead.get("/lists/gone").status, 404);
    assert_eq!(ahead.get("/runs/prs/1").text(), "{}");
    assert_eq!(ahead.get("/runs/prs").text(), format!("[{}]", record("2")));
    // A create-only write takes an expired entry's name.
    let again = ahead.ask("PUT", "/kv/short", &[("If-None-Match", "*")], Some(b"new"));
    assert_eq!(again.status, 204);
    let taken = ahead.ask("PUT", "/kv/long", &[("If-None-Match", "*")], Some(b"new"));
    assert_eq!(taken.status, 412);
    assert_eq!(ahead.get("/kv/long").text(), "kept");
}

#[test]
fn the_sweep_removes_expired_entries_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = dir_store(&root);
    let xdg = dir.path().join("xdg");
    let writer = Server::run(&store, &xdg, &[]);
    assert_eq!(writer.put("/kv/short?ttl=1", b"v").status, 204);
    assert_eq!(writer.put("/kv/long?ttl=864000", b"v").status, 204);
    assert_eq!(writer.put("/kv/forever", b"v").status, 204);
    assert_eq!(writer.post("/lists/l?ttl=1", b"x\n").status, 204);
    assert_eq!(
        writer
            .put("/artifacts/a.tar", b"\0ci3exp\0\0\0\0\0\0\0\0\x01")
            .status,
        201
    );
    drop(writer);
    // A server starts sweeping at once; this one's clock is two days ahead.
    let _later = Server::run(&store, &xdg, &["--clock-offset", "172800"]);
    until(
        "the expired kv entry is removed",
        Duration::from_secs(60),
        || !root.join(".ci3/kv/short.kv").exists(),
    );
    until(
        "the expired list line is removed",
        Duration::from_secs(60),
        || std::fs::read_dir(root.join(".ci3/lists/l/~")).map_or(0, |d| d.count()) == 0,
    );
    for kept in [".ci3/kv/long.kv", ".ci3/kv/forever.kv", "a.tar"] {
        assert!(root.join(kept).exists(), "{kept} is kept");
    }
}

#[test]
fn ttls_are_clamped_to_max_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let server = Server::run(
        &dir_store(&root),
        &dir.path().join("xdg"),
        &["--max-ttl", "1h"],
    );
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let expiry = |name: &str| {
        let bytes = std::fs::read(root.join(name)).unwrap();
        assert_eq!(&bytes[..8], b"\0ci3exp\0");
        u64::from_be_bytes(bytes[8..16].try_into().unwrap())
    };
    let before = now();
    assert_eq!(server.put("/kv/k?ttl=999999999", b"v").status, 204);
    assert_eq!(server.put("/logs/l", b"log").status, 204);
    let after = now();
    assert!((before + 3600..=after + 3600).contains(&expiry(".ci3/kv/k.kv")));
    assert!(
        (before + 3600..=after + 3600).contains(&expiry(".ci3/logs/l.log")),
        "a log's 14 days, clamped"
    );
    assert_eq!(server.get("/kv/k").text(), "v");
}
