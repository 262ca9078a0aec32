//! A server killed mid-upload (spec 3.7, group 4), over a directory store and over S3: nothing
//! is published, a restart serves what was there before and clears the dead writer's scratch
//! file (directory) or aborts its multipart upload (S3); a client vanishing mid-body publishes
//! nothing either.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::server::{dir_store, s3_store, until, Server};

/// 64 MiB announced, `sent` bytes of it written: an upload under way.
fn begin_upload(port: u16, path: &str, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        64 << 20
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..sent >> 20 {
        stream.write_all(&chunk).unwrap();
    }
    stream
}

/// The directory store's scratch files (`.ci3-put-…`) and their sizes.
fn scratch(root: &Path) -> Vec<(PathBuf, u64)> {
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ci3-put-"))
        .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
        .collect()
}

fn assert_absent(server: &Server, path: &str) {
    assert_eq!(
        server
            .ask("HEAD", &format!("/artifacts/{path}"), &[], None)
            .status,
        404
    );
    assert_eq!(server.get(&format!("/artifacts/{path}")).status, 404);
    assert_eq!(server.get(&format!("/objects/?prefix={path}")).text(), "");
}

#[test]
fn killed_mid_upload_over_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut server = Server::run(&dir_store(&root), &dir.path().join("xdg"), &[]);
    assert_eq!(server.put("/artifacts/earlier.tar", b"earlier").status, 201);
    let stream = begin_upload(server.port, "/artifacts/big.tar", 8 << 20);
    until(
        "the upload's scratch file holds bytes",
        Duration::from_secs(60),
        || scratch(&root).iter().any(|(_, size)| *size > 0),
    );
    server.kill();
    drop(stream);
    assert!(!root.join("big.tar").exists());
    assert_eq!(scratch(&root).len(), 1, "the dead writer's file is left");
    server.restart();
    assert_eq!(scratch(&root), vec![], "cleared before the first request");
    assert_absent(&server, "big.tar");
    assert_eq!(server.get("/artifacts/earlier.tar").body, b"earlier");
    assert!(
        server
            .log()
            .contains("removed 1 scratch files of writers that died"),
        "{}",
        server.log()
    );
}

#[test]
fn a_client_vanishing_mid_body_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let server = Server::run(&dir_store(&root), &dir.path().join("xdg"), &[]);
    let stream = begin_upload(server.port, "/artifacts/big.tar", 4 << 20);
    until(
        "the upload's scratch file holds bytes",
        Duration::from_secs(60),
        || scratch(&root).iter().any(|(_, size)| *size > 0),
    );
    drop(stream);
    until(
        "the failed write's scratch file is removed",
        Duration::from_secs(60),
        || scratch(&root).is_empty(),
    );
    assert!(!root.join("big.tar").exists());
    assert_absent(&server, "big.tar");
    assert_eq!(
        server.put("/artifacts/big.tar", b"whole").status,
        201,
        "the name is free"
    );
}

#[test]
fn killed_mid_upload_over_s3() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    let journal = xdg.join("ci3/multipart");
    let data = PathBuf::from(common::s3_var("CI3_TEST_S3_DATA"));
    let mut server = Server::run(&s3_store("crash"), &xdg, &[]);
    assert_eq!(server.put("/artifacts/earlier.tar", b"earlier").status, 201);
    // Past one 8 MiB part: a multipart upload begun, recorded in the server's journal.
    let stream = begin_upload(server.port, "/artifacts/big.tar", 12 << 20);
    let mut upload_id = None;
    until(
        "the multipart upload is recorded",
        Duration::from_secs(60),
        || {
            let record = std::fs::read_dir(&journal)
                .into_iter()
                .flatten()
                .flatten()
                .find(|e| !e.file_name().to_string_lossy().contains("multipart.new"));
            upload_id = record
                .and_then(|r| std::fs::read_to_string(r.path()).ok())
                .and_then(|text| text.lines().nth(2).map(str::to_string));
            upload_id.is_some()
        },
    );
    let upload_id = upload_id.unwrap();
    // s3s-fs keeps an upload in flight as `.upload-ID.json` in its data directory.
    let in_flight = || {
        data.join("store")
            .join(format!(".upload-{upload_id}.json"))
            .exists()
    };
    assert!(in_flight(), "the upload is in flight on the S3 server");
    server.kill();
    drop(stream);
    server.restart();
    assert!(
        !in_flight(),
        "the restart aborted the dead server's multipart upload"
    );
    assert_eq!(
        std::fs::read_dir(&journal).unwrap().count(),
        0,
        "and cleared its record"
    );
    assert_absent(&server, "big.tar");
    assert_eq!(server.get("/artifacts/earlier.tar").body, b"earlier");
}
