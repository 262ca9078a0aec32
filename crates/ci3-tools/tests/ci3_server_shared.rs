//! Two servers over one store (spec 3.7, group 3): all state is in the store, so what one
//! writes the other serves; racing create-only PUTs leave one complete body; concurrent list
//! pushes through both are all listed, newest first; both enforce expiry; sweeps spare entries
//! refreshed meanwhile.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::server::{dir_store, s3_store, until, Answer, Server};

/// Two servers over `store`, each with its own state directory.
fn two(store: &str, args: &[&str]) -> (tempfile::TempDir, Server, Server) {
    let dir = tempfile::tempdir().unwrap();
    let a = Server::run(store, &dir.path().join("xdg-a"), args);
    let b = Server::run(store, &dir.path().join("xdg-b"), args);
    (dir, a, b)
}

/// PUTs of `path` through each server at once, each with its own body.
fn race(
    servers: [&Server; 2],
    path: &str,
    headers: &[(&str, &str)],
    bodies: [&[u8]; 2],
) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(2));
    std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .zip(bodies)
            .map(|(server, body)| {
                let barrier = barrier.clone();
                scope.spawn(move || {
                    barrier.wait();
                    server.ask("PUT", path, headers, Some(body))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Racing create-only PUTs through both: one complete body stored, both servers serve it, each
/// answer a 201 or a refusal, and a later PUT of the name is refused. `exclusive`: the store's
/// create-only write is atomic, so exactly one racer gets 201 (a directory store links; s3s-fs,
/// the S3 test server, checks then writes, so there two racers may both win and the last rename
/// stands: still one complete body).
fn create_only_races(a: &Server, b: &Server, exclusive: bool) {
    let (one, other) = (vec![b'a'; 3 << 20], vec![b'b'; 3 << 20]);
    for (round, conditional) in [(0, true), (1, false), (2, true), (3, false)] {
        let path = format!("/artifacts/race-{round}.tar.zst");
        let headers: &[(&str, &str)] = if conditional {
            &[("If-None-Match", "*")]
        } else {
            &[]
        };
        let answers = race([a, b], &path, headers, [&one, &other]);
        let statuses: Vec<u16> = answers.iter().map(|x| x.status).collect();
        let refused = if conditional { 412 } else { 200 };
        assert!(
            statuses.iter().all(|s| [201, refused].contains(s)),
            "{statuses:?}"
        );
        assert!(statuses.contains(&201), "{statuses:?}");
        if exclusive {
            assert!(statuses.contains(&refused), "exactly one 201: {statuses:?}");
        }
        for answer in &answers {
            if answer.status == 200 {
                assert_eq!(answer.header("x-ci3-existed"), Some("1"));
            }
        }
        let stored = a.get(&path).body;
        assert!(
            stored == one || stored == other,
            "one complete body ({} bytes)",
            stored.len()
        );
        assert_eq!(b.get(&path).body, stored);
        if exclusive {
            let winner = if statuses[0] == 201 { &one } else { &other };
            assert_eq!(&stored, winner, "the winner's body");
        }
        let late = b.ask("PUT", &path, headers, Some(b"late"));
        assert_eq!(late.status, refused);
        assert_eq!(a.get(&path).body, stored);
    }
}

#[test]
fn racing_create_only_puts_over_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, a, b) = two(&dir_store(dir.path()), &[]);
    create_only_races(&a, &b, true);
}

#[test]
fn racing_create_only_puts_over_one_bucket() {
    let (_state, a, b) = two(&s3_store("race"), &[]);
    create_only_races(&a, &b, false);
}

#[test]
fn what_one_writes_the_other_serves() {
    let (_state, a, b) = two(&s3_store("shared"), &[]);
    assert_eq!(a.put("/kv/test-hash", b"log-id\n").status, 204);
    assert_eq!(b.get("/kv/test-hash").body, b"log-id\n");
    assert_eq!(
        b.post("/kv/mget", b"test-hash\nmiss\n").text(),
        "log-id\n\n"
    );
    assert_eq!(a.put("/logs/run-7", b"the log").status, 204);
    assert_eq!(b.get("/run-7").text(), "the log");
    let record = r#"{"status":"PASSED","msg":"m","name":"n","author":"a","timestamp":17}"#;
    assert_eq!(b.put("/runs/prs/17", record.as_bytes()).status, 204);
    assert_eq!(a.get("/runs/prs").text(), format!("[{record}]"));
}

#[test]
fn concurrent_pushes_through_both_are_all_listed_newest_first() {
    let (_state, a, b) = two(&s3_store("lists"), &[]);
    const THREADS: usize = 8;
    const EACH: usize = 50;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let server = if t % 2 == 0 { &a } else { &b };
            scope.spawn(move || {
                for i in 0..EACH {
                    let line = format!("t{t}-{i:02}\n");
                    let pushed = server.post("/lists/failed_tests?max=10000", line.as_bytes());
                    assert_eq!(pushed.status, 204, "{line}: {}", pushed.text());
                }
            });
        }
    });
    let listed = a.get("/lists/failed_tests").text();
    assert_eq!(b.get("/lists/failed_tests").text(), listed);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), THREADS * EACH);
    for t in 0..THREADS {
        // Each thread pushed its lines one after another: they come newest first.
        let mine: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(&format!("t{t}-")))
            .collect();
        let expected: Vec<String> = (0..EACH).rev().map(|i| format!("t{t}-{i:02}")).collect();
        assert_eq!(mine, expected);
    }
}

#[test]
fn both_enforce_expiry_and_sweeps_spare_refreshed_entries() {
    let store = s3_store("expiry");
    let (state, a, b) = two(&store, &[]);
    assert_eq!(a.put("/kv/from-a?ttl=1", b"a").status, 204);
    assert_eq!(b.put("/kv/from-b?ttl=1", b"b").status, 204);
    assert_eq!(a.put("/kv/refreshed?ttl=1", b"old").status, 204);
    assert_eq!(b.put("/kv/refreshed?ttl=86400", b"new").status, 204);
    assert_eq!(a.post("/lists/l?ttl=1", b"short\n").status, 204);
    // An hour later on both servers' clocks.
    let later_a = Server::run(
        &store,
        &state.path().join("xdg-a2"),
        &["--clock-offset", "3600"],
    );
    let later_b = Server::run(
        &store,
        &state.path().join("xdg-b2"),
        &["--clock-offset", "3600"],
    );
    for server in [&later_a, &later_b] {
        assert_eq!(server.get("/kv/from-a").status, 404);
        assert_eq!(server.get("/kv/from-b").status, 404);
        assert_eq!(server.get("/kv/refreshed").text(), "new");
        assert_eq!(
            server
                .post("/kv/mget", b"from-a\nfrom-b\nrefreshed\n")
                .text(),
            "\n\nnew\n"
        );
        assert_eq!(server.get("/lists/l").status, 404);
    }
    // Their sweeps (one at start) remove what expired, not what was refreshed.
    for gone in [".ci3/kv/from-a.kv", ".ci3/kv/from-b.kv"] {
        until(
            &format!("the sweep removes {gone}"),
            Duration::from_secs(60),
            || a.ask("HEAD", &format!("/objects/{gone}"), &[], None).status == 404,
        );
    }
    assert_eq!(
        a.ask("HEAD", "/objects/.ci3/kv/refreshed.kv", &[], None)
            .status,
        200
    );
    assert_eq!(a.get("/kv/refreshed").text(), "new");
}
