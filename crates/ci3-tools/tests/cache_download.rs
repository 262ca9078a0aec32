//! cache_download: the local cache in front of the store, concurrent writers and readers, and
//! anonymous reads from a public URL.

mod common;

use std::path::Path;
use std::process::Command;

use common::cache::{make_tree, s3_prefix, snapshot, Env, Where};

#[test]
fn local_cache_scenarios() {
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let local = work.path().join("local-cache");
    let at = s3_prefix("local");
    let with_local = |ci: bool| {
        let env = Env::new(at.clone(), work.path()).var("CACHE_LOCAL_DIR", local.to_str().unwrap());
        if ci {
            env.var("CI", "1")
        } else {
            env
        }
    };

    // Save on upload, even when the remote upload is skipped at CI=0.
    let up = with_local(false).run("cache_upload", &["l.tar.gz", "build"]);
    assert!(
        up.stderr.contains("Saved l.tar.gz to local cache."),
        "{}",
        up.stderr
    );
    assert!(local.join("l.tar.gz").is_file());
    // Hit: served from the local copy (the store does not have it).
    let down = with_local(false).run("cache_download", &["l.tar.gz", "out1"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        down.stderr.contains("Local cache hit for l.tar.gz."),
        "{}",
        down.stderr
    );
    assert!(work.path().join("out1/build/lib.a").is_file());

    // Miss: fetched from the store, then kept locally.
    assert_eq!(
        Env::new(at.clone(), work.path())
            .var("CI", "1")
            .run("cache_upload", &["m.tar.zst", "build"])
            .code,
        0
    );
    let down = with_local(false).run("cache_download", &["m.tar.zst", "out2"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        down.stderr
            .contains("Local cache miss for m.tar.zst, downloading from remote."),
        "{}",
        down.stderr
    );
    assert!(
        local.join("m.tar.zst").is_file(),
        "the download is kept in the local cache"
    );
    let down = with_local(false).run("cache_download", &["m.tar.zst", "out3"]);
    assert!(
        down.stderr.contains("Local cache hit for m.tar.zst."),
        "{}",
        down.stderr
    );
    assert_eq!(
        snapshot(&work.path().join("out3/build")),
        snapshot(&work.path().join("build"))
    );

    // The sentinel is decided before the local cache is looked at.
    let down = with_local(false).run("cache_download", &["x-disabled-cache.tar.gz"]);
    assert_eq!(down.code, 1);
    assert!(!down.stderr.contains("Local cache"), "{}", down.stderr);

    // An unusable local cache dir: a warning, then on without it.
    let file = work.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let unusable = file.join("sub");
    let env = Env::new(at.clone(), work.path())
        .var("CI", "1")
        .var("CACHE_LOCAL_DIR", unusable.to_str().unwrap());
    let up = env.run("cache_upload", &["w.tar.gz", "build"]);
    assert_eq!(up.code, 0);
    assert!(
        up.stderr.contains(&format!(
            "Warning: Cannot create local cache dir {} or save into it, skipping local cache.",
            unusable.display()
        )),
        "{}",
        up.stderr
    );
    assert!(
        up.stderr.contains("Cache upload of w.tar.gz complete"),
        "{}",
        up.stderr
    );
    let down = env.run("cache_download", &["w.tar.gz", "out4"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(down.stderr.contains(&format!(
        "Warning: Cannot create local cache dir {}, skipping local cache.",
        unusable.display()
    )));
    assert!(
        !down.stderr.contains("Local cache hit") && !down.stderr.contains("Local cache miss"),
        "{}",
        down.stderr
    );
}

#[test]
fn concurrent_uploads_and_downloads_see_one_complete_version() {
    for at in [
        s3_prefix("race"),
        Where::Dir(tempfile::tempdir().unwrap().keep()),
    ] {
        let work = tempfile::tempdir().unwrap();
        let mut uploads = Vec::new();
        for i in 0..8 {
            let dir = work.path().join(format!("builder{i}"));
            std::fs::create_dir_all(dir.join("out")).unwrap();
            // Each builder's output differs, and is large enough to be written in parts.
            let body: Vec<u8> = (0..3_000_000u32)
                .map(|j| (j.wrapping_mul(31).wrapping_add(i) >> 3) as u8)
                .collect();
            std::fs::write(dir.join("out/blob"), &body).unwrap();
            std::fs::write(dir.join("out/id"), format!("{i}\n")).unwrap();
            uploads.push(
                Env::new(at.clone(), &dir)
                    .var("CI", "1")
                    .cmd("cache_upload", &["race.tar.zst", "out"])
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        for mut u in uploads {
            assert!(u.wait().unwrap().success());
        }
        let mut downloads = Vec::new();
        for i in 0..8 {
            let dest = work.path().join(format!("reader{i}"));
            downloads.push((
                dest.clone(),
                Env::new(at.clone(), work.path())
                    .cmd("cache_download", &["race.tar.zst", dest.to_str().unwrap()])
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            ));
        }
        let mut versions = std::collections::HashSet::new();
        for (dest, mut d) in downloads {
            assert!(d.wait().unwrap().success());
            let id: u32 = std::fs::read_to_string(dest.join("out/id"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            let expected: Vec<u8> = (0..3_000_000u32)
                .map(|j| (j.wrapping_mul(31).wrapping_add(id) >> 3) as u8)
                .collect();
            assert!(
                std::fs::read(dest.join("out/blob")).unwrap() == expected,
                "a complete, consistent version"
            );
            versions.insert(id);
        }
        assert_eq!(
            versions.len(),
            1,
            "every reader sees the same single object"
        );
        if let Where::Dir(dir) = &at {
            let names: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(
                names,
                ["race.tar.zst"],
                "exactly one object, no temporary files"
            );
        }
    }
}

/// A plain static HTTP server (Python's `http.server`) over a directory, stopped on drop.
struct HttpServer {
    child: std::process::Child,
    url: String,
}

impl HttpServer {
    fn start(root: &Path) -> HttpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs the static HTTP server");
        let server = HttpServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "http.server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn public_url_reads_without_credentials() {
    let work = tempfile::tempdir().unwrap();
    let built = make_tree(work.path());
    // What a public bucket serves: `<url>/<prefix><name>`, the prefix being `build-cache/`.
    let bucket = tempfile::tempdir().unwrap();
    let name = "pub-0123456789abcdef.tar.gz";
    let writer = Env::new(Where::Dir(bucket.path().join("build-cache")), work.path());
    assert_eq!(writer.run("cache_upload", &[name, "build"]).code, 0);
    let server = HttpServer::start(bucket.path());

    let public = Env::new(Where::Public(server.url.clone()), work.path());
    assert_eq!(public.run("cache_exists", &[name]).code, 0);
    assert_eq!(public.run("cache_exists", &["pub-missing.tar.gz"]).code, 1);
    let down = public.run("cache_download", &[name, "restored"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        down.stderr.contains(&format!(
            "Cache download and extraction of {name} complete in"
        )),
        "{}",
        down.stderr
    );
    assert_eq!(
        snapshot(&work.path().join("restored/build")),
        snapshot(&built)
    );

    let miss = public.run("cache_download", &["pub-missing.tar.gz", "missed"]);
    assert_eq!(miss.code, 1);
    assert!(
        miss.stderr.contains(
            "Cache download of pub-missing.tar.gz failed. Cache miss: not in public http://127.0.0.1:"
        ),
        "{}",
        miss.stderr
    );

    // Reads only: an upload is skipped as the original skipped it without credentials.
    let up = Env::new(Where::Public(server.url.clone()), work.path())
        .var("CI", "1")
        .run("cache_upload", &["pub-new.tar.gz", "build"]);
    assert_eq!(up.code, 0);
    assert!(
        up.stderr
            .contains("Skipping S3 upload, no AWS credentials found."),
        "{}",
        up.stderr
    );
    assert!(!bucket.path().join("build-cache/pub-new.tar.gz").exists());

    // S3 configured but no credentials: reads go to the public URL (the S3 endpoint is dead).
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fallback = Env::new(Where::Public(server.url.clone()), work.path())
        .var("CI3_S3_BUCKET", "some-bucket")
        .var("CI3_S3_ENDPOINT", &format!("http://127.0.0.1:{dead}"));
    let down = fallback.run("cache_download", &[name, "via-fallback"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    // With credentials, S3 it is: the dead endpoint answers for itself.
    let keyed = fallback
        .var("AWS_ACCESS_KEY_ID", "k")
        .var("AWS_SECRET_ACCESS_KEY", "s");
    let down = keyed.run("cache_download", &[name, "via-s3"]);
    assert_eq!(down.code, 1);
    assert!(down.stderr.contains("unreachable"), "{}", down.stderr);

    let bad = Env::new(Where::Public("ftp://example.invalid".into()), work.path());
    let down = bad.run("cache_download", &[name, "bad"]);
    // A configuration that cannot be right is a usage error of every tool: exit 2.
    assert_eq!(down.code, 2);
    assert!(
        down.stderr
            .contains("CI3_PUBLIC_CACHE_URL=ftp://example.invalid"),
        "{}",
        down.stderr
    );

    let url = server.url.clone();
    drop(server);
    let gone = Env::new(Where::Public(url), work.path());
    let down = gone.run("cache_download", &[name, "gone"]);
    assert_eq!(down.code, 1);
    assert!(down.stderr.contains("unreachable"), "{}", down.stderr);
    assert!(
        !work.path().join("gone").exists()
            || std::fs::read_dir(work.path().join("gone"))
                .unwrap()
                .next()
                .is_none()
    );
}
