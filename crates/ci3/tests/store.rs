//! The two store backends through the `Store` trait: the directory store and a real
//! S3-compatible server (started by `test_source`; run the tests with `bash ci3/run_tests`).

use std::io::Write;

use std::sync::Arc;

use ci3::report::Silent;
use ci3::store::{DirStore, Put, S3Settings, S3Store, Store};
use ci3::Kind;

fn s3_settings(prefix: &str) -> S3Settings {
    let endpoint = std::env::var("CI3_S3_ENDPOINT")
        .expect("CI3_S3_ENDPOINT is not set: run the tests with `bash ci3/run_tests` (it starts the S3 server)");
    S3Settings::at(
        &endpoint,
        &std::env::var("CI3_S3_BUCKET").expect("CI3_S3_BUCKET"),
        &format!("{prefix}-{}/", std::process::id()),
        &std::env::var("AWS_ACCESS_KEY_ID").expect("AWS_ACCESS_KEY_ID"),
        &std::env::var("AWS_SECRET_ACCESS_KEY").expect("AWS_SECRET_ACCESS_KEY"),
    )
}

fn s3(prefix: &str) -> S3Store {
    S3Store::new(s3_settings(prefix), Arc::new(Silent)).expect("S3 store")
}

fn get(store: &dyn Store, name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    store.get(name, &mut out).unwrap().then_some(out)
}

fn contract(store: &dyn Store) {
    // Create-only writes of new names in a row, deep and shallow, each a new object.
    for name in [
        "runs/id/r1.json",
        "runs/history/app.build/8.r1.success.d.1",
        "runs/success/app.build/d.8.r1.c",
        "runs/id/r2.json",
        "flat-1",
    ] {
        assert_eq!(
            store.put_bytes(name, name.as_bytes(), true).unwrap(),
            Put::Created,
            "{name}"
        );
        assert_eq!(get(store, name).unwrap(), name.as_bytes());
    }

    // A sorted listing goes by name, not by age, and pages from a name on.
    for n in ["5", "2", "9", "1", "7"] {
        store
            .put_bytes(&format!("sorted/p/{n}"), b"", true)
            .unwrap();
    }
    store.put_bytes("sorted/p2", b"", true).unwrap();
    let page = |after: Option<&str>, max| store.list_sorted("sorted/p/", after, max).unwrap();
    assert_eq!(page(None, 2), ["sorted/p/1", "sorted/p/2"]);
    assert_eq!(page(Some("sorted/p/2"), 2), ["sorted/p/5", "sorted/p/7"]);
    assert_eq!(page(Some("sorted/p/7"), 2), ["sorted/p/9"]);
    assert_eq!(page(Some("sorted/p/9"), 2), Vec::<String>::new());
    assert_eq!(page(None, 10).len(), 5, "the prefix holds nothing else");
    assert_eq!(store.list_sorted("sorted/none/", None, 5).unwrap().len(), 0);
    // A listing reaches below the prefix's directory, as S3's does.
    let below = store.list("runs/").unwrap();
    assert!(
        below.contains(&"runs/history/app.build/8.r1.success.d.1".to_string())
            && below.contains(&"runs/id/r1.json".to_string()),
        "{below:?}"
    );
    assert_eq!(store.list("runs/hist").unwrap().len(), 1);

    assert!(!store.exists("a.tar.gz").unwrap());
    assert_eq!(
        get(store, "a.tar.gz"),
        None,
        "a miss is Ok(false), not an error"
    );
    assert_eq!(
        store.put_bytes("a.tar.gz", b"first", true).unwrap(),
        Put::Created
    );
    assert!(store.exists("a.tar.gz").unwrap());
    assert!(
        !store.exists("a.tar").unwrap(),
        "a prefix of a stored name does not exist"
    );
    assert!(!store.exists("a.tar.gz.x").unwrap());
    assert_eq!(get(store, "a.tar.gz").unwrap(), b"first");
    assert_eq!(
        store.put_bytes("a.tar.gz", b"second", true).unwrap(),
        Put::AlreadyExists
    );
    assert_eq!(
        get(store, "a.tar.gz").unwrap(),
        b"first",
        "create-only keeps the first"
    );
    assert_eq!(
        store.put_bytes("a.tar.gz", b"third", false).unwrap(),
        Put::Created
    );
    assert_eq!(get(store, "a.tar.gz").unwrap(), b"third");
    assert!(store.delete("a.tar.gz").unwrap());
    assert!(!store.delete("a.tar.gz").unwrap());
    assert!(!store.exists("a.tar.gz").unwrap());
    for bad in ["", "../x", "a/../b", "/abs"] {
        assert!(store.exists(bad).is_err(), "name {bad:?} must be refused");
    }

    // A file large enough for a multipart upload round-trips, and create-only holds for it.
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let block: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for i in 0..20u8 {
        file.write_all(&[i]).unwrap();
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
    let expected = std::fs::read(file.path()).unwrap();
    assert_eq!(
        store.put_file("big/b.tar.zst", file.path(), true).unwrap(),
        Put::Created
    );
    assert_eq!(
        store.put_file("big/b.tar.zst", file.path(), true).unwrap(),
        Put::AlreadyExists
    );
    assert!(
        get(store, "big/b.tar.zst").unwrap() == expected,
        "large object round trip"
    );
    assert!(store.delete("big/b.tar.zst").unwrap());
}

/// Yields `len` bytes, then fails: a stream whose producer broke down.
struct FailsAfter {
    len: usize,
}

impl std::io::Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.len == 0 {
            return Err(std::io::Error::other("producer failed"));
        }
        let n = buf.len().min(self.len);
        buf[..n].fill(0x5a);
        self.len -= n;
        Ok(n)
    }
}

fn failed_streams_publish_nothing(store: &dyn Store) {
    for len in [1000, 20 << 20] {
        let err = store.put_reader("broken.tar.zst", &mut FailsAfter { len }, true);
        assert!(
            err.is_err(),
            "{len} bytes then an error must fail the write"
        );
        assert!(
            !store.exists("broken.tar.zst").unwrap(),
            "{len}: nothing published"
        );
    }
    let mut ok = std::io::Cursor::new(vec![7u8; 9 << 20]);
    assert_eq!(
        store.put_reader("streamed.tar.zst", &mut ok, true).unwrap(),
        Put::Created
    );
    assert_eq!(get(store, "streamed.tar.zst").unwrap(), vec![7u8; 9 << 20]);
}

#[test]
fn directory_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path().join("store"));
    contract(&store);
    failed_streams_publish_nothing(&store);
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.contains(".ci3-put-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );
}

#[test]
fn s3_store_keeps_the_contract() {
    contract(&s3("contract"));
    failed_streams_publish_nothing(&s3("streams"));
}

#[test]
fn s3_wrong_secret_is_denied_not_a_miss() {
    let mut settings = s3_settings("denied");
    settings.keys.as_mut().unwrap().secret_key = "wrong-secret".into();
    let store = S3Store::new(settings, Arc::new(Silent)).unwrap();
    let err = store.exists("x.tar.gz").unwrap_err();
    assert_eq!(err.kind(), Kind::Denied, "{err}");
    assert!(err.to_string().contains("403"), "{err}");
    let err = store.put_bytes("x.tar.gz", b"x", true).unwrap_err();
    assert_eq!(err.kind(), Kind::Denied, "{err}");
}

#[test]
fn s3_unreachable_is_not_a_miss() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut settings = s3_settings("unreachable");
    settings.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let store = S3Store::new(settings, Arc::new(Silent)).unwrap();
    let started = std::time::Instant::now();
    let err = store.exists("x.tar.gz").unwrap_err();
    assert_eq!(err.kind(), Kind::Unreachable, "{err}");
    let mut sink = Vec::new();
    assert_eq!(
        store.get("x.tar.gz", &mut sink).unwrap_err().kind(),
        Kind::Unreachable
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "bounded retries"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p.display().to_string());
    }
    out
}
