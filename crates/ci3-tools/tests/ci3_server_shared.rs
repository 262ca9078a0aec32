//! Two servers over one store (spec 3.7, group 3): all state is in the store, so what one
//! writes the other serves; racing create-only PUTs leave one complete body; concurrent list
//! pushes through both are all listed, newest first; both enforce expiry; sweeps spare entries
//! refreshed meanwhile; our parted uploads take their parts and completion through either
//! server.

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

/// A part of `bytes` bytes, each of them `fill` (S3 wants 5 MiB parts but the last).
fn part(fill: u8, bytes: usize) -> Vec<u8> {
    vec![fill; bytes]
}

/// Begins a parted upload of `path` through `server`: its id, query-encoded.
fn begin(server: &Server, path: &str) -> String {
    let begun = server.ask("POST", &format!("{path}?uploads"), &[], None);
    assert_eq!(begun.status, 200, "{}", begun.text());
    begun
        .text()
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// PUTs part `number` of upload `id`; its `N TAG` line for the completion.
fn send_part(server: &Server, path: &str, id: &str, number: u32, body: &[u8]) -> String {
    let sent = server.ask(
        "PUT",
        &format!("{path}?upload={id}&part={number}"),
        &[],
        Some(body),
    );
    assert_eq!(sent.status, 200, "part {number}: {}", sent.text());
    format!("{number} {}\n", sent.header("etag").expect("a part's tag"))
}

/// Parts sent through both servers and completed through the other one; a part missing at
/// completion refused with nothing published; create-only completions keep what is there; an
/// upload stopped after some parts, or aborted, publishes nothing; a part beyond the bound 413.
/// `exact`: the store tells a missing part apart from its own failure.
fn parted_uploads(a: &Server, b: &Server, exact: bool) {
    let (one, two, three) = (part(b'1', 5 << 20), part(b'2', 5 << 20), part(b'3', 1000));
    let whole = [&one[..], &two[..], &three[..]].concat();

    let path = "/objects/parted/app-1.tar.zst";
    let id = begin(a, path);
    let mut list = send_part(a, path, &id, 1, &one);
    list += &send_part(b, path, &id, 2, &two);
    assert_eq!(
        a.ask("HEAD", path, &[], None).status,
        404,
        "not before completion"
    );
    list += &send_part(a, path, &id, 3, &three);
    let done = b.ask(
        "POST",
        &format!("{path}?upload={id}&complete"),
        &[("If-None-Match", "*")],
        Some(list.as_bytes()),
    );
    assert_eq!(done.status, 201, "{}", done.text());
    assert!(a.get(path).body == whole, "the parts, whole and in order");
    assert!(b.get(path).body == whole);

    // Create-only: a second upload of the name keeps the first.
    let id = begin(b, path);
    let list = send_part(b, path, &id, 1, b"another body");
    let kept = a.ask(
        "POST",
        &format!("{path}?upload={id}&complete"),
        &[],
        Some(list.as_bytes()),
    );
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_eq!(kept.header("x-ci3-existed"), Some("1"));
    assert!(a.get(path).body == whole, "the first body kept");
    let refused = a.ask(
        "POST",
        &format!("{path}?uploads"),
        &[("If-None-Match", "*")],
        None,
    );
    assert_eq!(refused.status, 412);

    // A part named but never sent: nothing published.
    let other = "/objects/parted/app-2.tar.zst";
    let id = begin(a, other);
    let list = send_part(a, other, &id, 1, &one) + "2 \"never-sent\"\n";
    let missing = b.ask(
        "POST",
        &format!("{other}?upload={id}&complete"),
        &[],
        Some(list.as_bytes()),
    );
    // S3 says 400 InvalidPart; s3s-fs, the S3 test server, fails with a 500 (502 here).
    let refused = if exact { [400, 400] } else { [400, 502] };
    assert!(
        refused.contains(&missing.status),
        "{}: {}",
        missing.status,
        b.log()
    );
    assert_eq!(a.ask("HEAD", other, &[], None).status, 404);

    // Stopped after a part (a client gone): invisible, listed nowhere; then aborted.
    let id = begin(b, other);
    send_part(b, other, &id, 1, &one);
    assert_eq!(b.ask("HEAD", other, &[], None).status, 404);
    assert_eq!(
        a.get("/objects/?prefix=parted/").text(),
        "parted/app-1.tar.zst\n"
    );
    let dropped = a.ask("DELETE", &format!("{other}?upload={id}"), &[], None);
    assert_eq!(dropped.status, 204);
    let late = b.ask(
        "POST",
        &format!("{other}?upload={id}&complete"),
        &[],
        Some(b"1 x\n"),
    );
    assert!(
        refused.contains(&late.status),
        "an aborted upload completes nothing"
    );
    assert_eq!(a.ask("HEAD", other, &[], None).status, 404);

    // A part beyond 16 MiB is refused from its Content-Length, unread.
    let id = begin(a, other);
    let head = format!(
        "PUT {other}?upload={id}&part=1 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        (16 << 20) + 1
    );
    let answer = common::server::parse(&common::server::raw(a.port, head.as_bytes(), true));
    assert_eq!(answer.status, 413, "{}", answer.text());
}

#[test]
fn parted_uploads_through_two_servers_over_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, a, b) = two(&dir_store(dir.path()), &[]);
    parted_uploads(&a, &b, true);
    // Only the upload left open remains, hidden from listings; a server whose clock is two
    // days on sweeps it at start.
    let uploads = dir.path().join(".ci3-uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 2);
    let _later = Server::run(
        &dir_store(dir.path()),
        &dir.path().join("xdg-later"),
        &["--clock-offset", "172800"],
    );
    until(
        "the sweep drops the abandoned uploads",
        Duration::from_secs(60),
        || std::fs::read_dir(&uploads).unwrap().count() == 0,
    );
}

#[test]
fn parted_uploads_through_two_servers_over_one_bucket() {
    let (_state, a, b) = two(&s3_store("parted"), &[]);
    parted_uploads(&a, &b, false);
}
