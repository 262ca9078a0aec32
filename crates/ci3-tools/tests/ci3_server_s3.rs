//! What a server does only over S3: `--redirect-reads` hands downloads a presigned URL of the
//! bucket, and the sweep drops entries that went unmodified for `--max-ttl`, as a bucket
//! lifecycle rule would; a store that cannot presign refuses the flag at start; a download
//! larger than one of the S3 store's ranges streams whole.

mod common;

use std::time::Duration;

use common::exe::exe;
use common::server::{ask, dir_store, s3_store, until, Server};

/// Host port and path-with-query of an `http://HOST:PORT/PATH` URL on loopback.
fn split_url(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').expect("a path"));
    let port = authority.rsplit(':').next().unwrap().parse().unwrap();
    (port, path.to_string())
}

#[test]
fn redirect_reads_send_downloads_to_a_presigned_url() {
    let dir = tempfile::tempdir().unwrap();
    let store = s3_store("redirect");
    let server = Server::run(&store, &dir.path().join("xdg"), &["--redirect-reads"]);
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(server.put("/artifacts/big.tar.zst", &body).status, 201);

    let answer = server.get("/artifacts/big.tar.zst");
    assert_eq!(answer.status, 302, "{answer:?}");
    let location = answer.header("location").expect("a Location").to_string();
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    let (port, path) = split_url(&location);
    assert_ne!(
        port, server.port,
        "the bytes come from the bucket, not the server"
    );
    let fetched = ask(port, "GET", &path, &[], None);
    assert_eq!(fetched.status, 200);
    assert!(fetched.body == body, "the presigned URL gives the artifact");

    // A miss costs no second request; HEAD still answers from the server itself.
    assert_eq!(server.get("/artifacts/absent.tar.zst").status, 404);
    let head = server.ask("HEAD", "/artifacts/big.tar.zst", &[], None);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("200000"));
}

#[test]
fn an_artifact_over_one_range_streams_whole_from_s3() {
    // The S3 store fetches a large object in 8 MiB ranges; the server's stream of them once
    // panicked past the first range (a blocking send from inside the store's runtime).
    let dir = tempfile::tempdir().unwrap();
    let store = s3_store("ranges");
    let server = Server::run(&store, &dir.path().join("xdg"), &[]);
    let body: Vec<u8> = (0..(20u32 << 20) + 12_345)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    assert_eq!(server.put("/artifacts/big.tar.zst", &body).status, 201);
    let answer = server.get("/artifacts/big.tar.zst");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len(), body.len());
    assert!(answer.body == body, "every range, in order");
}

#[test]
fn redirect_reads_need_a_store_that_presigns() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::command(exe("ci3_server"))
        .args(["run", "--port", &common::server::free_port().to_string()])
        .args(["--store", &dir_store(&dir.path().join("store"))])
        .arg("--redirect-reads")
        .env("XDG_CACHE_HOME", dir.path().join("xdg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--redirect-reads: directory ")
            && stderr.contains("cannot hand out download URLs"),
        "{stderr}"
    );
}

#[test]
fn the_sweep_drops_s3_entries_unmodified_for_max_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let store = s3_store("sweep-age");
    let xdg = dir.path().join("xdg");
    let writer = Server::run(&store, &xdg, &[]);
    assert_eq!(writer.put("/kv/forever", b"v").status, 204);
    assert_eq!(writer.post("/lists/l", b"line\n").status, 204);
    assert_eq!(writer.put("/artifacts/a.tar.zst", b"bytes").status, 201);
    drop(writer);

    // Two minutes on with a one-minute retention: both ttl-less entries went unmodified too long.
    let later = Server::run(&store, &xdg, &["--max-ttl", "60", "--clock-offset", "120"]);
    until(
        "the stale kv entry is swept",
        Duration::from_secs(60),
        || later.get("/kv/forever").status == 404,
    );
    until(
        "the stale list line is swept",
        Duration::from_secs(60),
        || later.get("/lists/l").status == 404,
    );
    assert_eq!(
        later.get("/artifacts/a.tar.zst").body,
        b"bytes",
        "artifacts are not swept"
    );
    assert!(later.log().contains("expired entries"), "{}", later.log());
}
