//! The cache tools under faults: names that try to escape, a full local disk, kills mid-transfer,
//! servers that go silent or stall, and the size cap. Each test is a reproduction a user tried.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::exe::exe;
use common::{command, run, Output};

/// A work dir with a directory store and a local cache, and a small `build/` to archive.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        let work = Work {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(work.path("build/sub")).unwrap();
        fs::write(work.path("build/sub/a.txt"), "a\n").unwrap();
        work
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn tool(&self, name: &str) -> Command {
        let mut cmd = command(exe(name));
        cmd.current_dir(self.dir.path())
            .env(
                "CI3_STORE",
                format!("file://{}", self.path("store").display()),
            )
            .env("CACHE_LOCAL_DIR", self.path("local"))
            .env("XDG_CACHE_HOME", self.path("xdg"));
        cmd
    }

    fn run(&self, name: &str, args: &[&str]) -> Output {
        run(self.tool(name).args(args))
    }
}

/// Files of `dir` (recursively) whose name starts with `.ci3-`, but for the bookkeeping ones.
fn debris(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(read) = fs::read_dir(dir) else {
        return found;
    };
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".ci3-") && name != ".ci3-usage" {
            found.push(e.path());
        } else if e.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(debris(&e.path()));
        }
    }
    found
}

#[test]
fn names_that_would_escape_touch_nothing() {
    let work = Work::new();
    let victims = tempfile::tempdir().unwrap();
    let victim = victims.path().join("victim.txt");
    fs::write(&victim, "precious\n").unwrap();
    let v = victim.to_str().unwrap();
    for (tool, args) in [
        ("cache_upload", vec![v, "build"]),
        ("cache_download", vec![v, "out"]),
        ("cache_upload", vec!["../x.zst", "build"]),
        ("cache_download", vec!["../x.zst", "out"]),
        ("cache_upload", vec!["a/../../x.zst", "build"]),
        ("cache_upload", vec!["line\nbreak.zst", "build"]),
    ] {
        let out = work.run(tool, &args);
        assert_eq!(out.code, 1, "{tool} {args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
        assert!(
            out.stderr.contains("invalid artifact name"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        !work.path("x.zst").exists() && !work.dir.path().parent().unwrap().join("x.zst").exists()
    );
    assert!(!work.path("out").exists());
}

/// `len` bytes no compressor can shrink (xorshift64), different for each `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn is_root() -> bool {
    run(command("id").arg("-u")).stdout.trim() == "0"
}

/// A tmpfs of `size` mounted at `dir` for the life of the value.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        let out = run(command("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir));
        assert_eq!(out.code, 0, "mount tmpfs: {}", out.stderr);
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = run(command("umount").arg(&self.0));
    }
}

#[test]
fn a_full_local_cache_costs_the_copy_never_the_store() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let work = Work::new();
    // Incompressible, and larger than the local disk.
    let noise = noise(3_000_000, 1);
    fs::write(work.path("build/noise.bin"), &noise).unwrap();
    let _disk = Tmpfs::mount(&work.path("local"), "1m");

    let up = work.run("cache_upload", &["full-1.tar.zst", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(
        work.path("store/full-1.tar.zst").is_file(),
        "the store got it: {}",
        up.stderr
    );
    let warnings: Vec<&str> = up
        .stderr
        .lines()
        .filter(|l| l.starts_with("Warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", up.stderr);
    assert!(
        warnings[0].contains("skipping local cache"),
        "{}",
        up.stderr
    );

    let down = work.run("cache_download", &["full-1.tar.zst", "out"]);
    assert_eq!(down.code, 0, "a store hit still extracts: {}", down.stderr);
    assert_eq!(fs::read(work.path("out/build/noise.bin")).unwrap(), noise);
    assert!(debris(&work.path("local")).is_empty());
}

/// Starts `tool args`, kills it with SIGKILL after `after`, and waits for it.
fn kill_after(mut cmd: Command, after: Duration) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

/// A tree of `n` files whose contents all say `word`.
fn tree(dir: &Path, n: usize, word: &str) {
    for i in 0..n {
        let path = dir.join(format!("d{}/f{i}.txt", i % 40));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, format!("{word} {i}\n")).unwrap();
    }
}

/// The distinct first words of the files under `dir`.
fn words(dir: &Path) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for d in fs::read_dir(dir).unwrap().flatten() {
        if !d.file_type().unwrap().is_dir() {
            continue;
        }
        for f in fs::read_dir(d.path()).unwrap().flatten() {
            let text = fs::read_to_string(f.path()).unwrap();
            out.insert(text.split(' ').next().unwrap().to_string());
        }
    }
    out
}

#[test]
fn kills_leave_no_debris_past_the_next_run_and_no_torn_tree() {
    let work = Work::new();
    const FILES: usize = 6000;
    // The new version of the tree, archived; the old one already in OUT_DIR.
    tree(&work.path("new/tree"), FILES, "new");
    let up = run(work
        .tool("cache_upload")
        .current_dir(work.path("new"))
        .args(["tree-2.tar.gz", "tree"]));
    assert_eq!(up.code, 0, "{}", up.stderr);
    tree(&work.path("out/tree"), FILES, "old");

    for (i, ms) in [5u64, 40, 120, 250, 400].into_iter().enumerate() {
        // Killed uploads, at several points.
        let mut up = work.tool("cache_upload");
        up.current_dir(work.path("new"))
            .args([&format!("k-{i}.tar.gz"), "tree"]);
        kill_after(up, Duration::from_millis(ms));
        // Killed downloads into the old tree, at several points.
        let mut down = work.tool("cache_download");
        down.args(["tree-2.tar.gz", "out"])
            .env_remove("CACHE_LOCAL_DIR");
        kill_after(down, Duration::from_millis(ms));
        let seen = words(&work.path("out/tree"));
        assert!(!seen.is_empty());
    }
    // The next runs: each clears what the killed ones left where it works.
    let up = run(work
        .tool("cache_upload")
        .current_dir(work.path("new"))
        .args(["tree-3.tar.gz", "tree"]));
    assert_eq!(up.code, 0, "{}", up.stderr);
    let down = run(work
        .tool("cache_download")
        .args(["tree-2.tar.gz", "out"])
        .env_remove("CACHE_LOCAL_DIR"));
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(
        words(&work.path("out/tree")),
        ["new".to_string()].into(),
        "complete new"
    );
    let count = fs::read_dir(work.path("out/tree"))
        .unwrap()
        .flatten()
        .map(|d| fs::read_dir(d.path()).unwrap().count())
        .sum::<usize>();
    assert_eq!(count, FILES);
    for place in ["store", "local", "out"] {
        assert_eq!(debris(&work.path(place)), Vec::<PathBuf>::new(), "{place}");
    }
}

/// A server on loopback that accepts connections and answers as `answer` says, for at most a
/// minute; dropped with the test.
struct FakeServer {
    url: String,
}

fn serve(answer: fn(&str, &mut TcpStream)) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        listener.set_nonblocking(true).unwrap();
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    std::thread::spawn(move || {
                        let head = read_head(&mut stream);
                        answer(&head, &mut stream);
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    FakeServer { url }
}

fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Never answers.
fn silent(_head: &str, _stream: &mut TcpStream) {
    std::thread::sleep(Duration::from_secs(60));
}

/// Answers HEAD with a 2 MiB object; sends 1 MiB of a GET, then stalls. Takes the start of a
/// multipart upload, then stalls its parts.
fn stalling(head: &str, stream: &mut TcpStream) {
    let first = head.lines().next().unwrap_or_default().to_string();
    if first.starts_with("HEAD") && first.contains("missing") {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    } else if first.starts_with("HEAD") {
        let _ =
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\nETag: \"e\"\r\n\r\n");
    } else if first.starts_with("GET") {
        let _ =
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\nETag: \"e\"\r\n\r\n");
        let _ = stream.write_all(&vec![0u8; 1 << 20]);
        std::thread::sleep(Duration::from_secs(60));
    } else if first.starts_with("POST") && first.contains("uploads") {
        let body = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    } else if first.starts_with("DELETE") {
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
    } else {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn against(work: &Work, tool: &str, server: &FakeServer, xdg: &str) -> Command {
    let mut cmd = work.tool(tool);
    cmd.env("CI3_STORE", "s3://bucket/p")
        .env("CI3_S3_ENDPOINT", &server.url)
        .env("AWS_ACCESS_KEY_ID", "AKIAFAKE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("CI", "1")
        .env("XDG_CACHE_HOME", work.path(xdg))
        .env_remove("CACHE_LOCAL_DIR");
    cmd
}

#[test]
fn a_silent_server_is_given_up_on_in_time_and_then_skipped_at_once() {
    let work = Work::new();
    let server = serve(silent);
    let host = server.url.trim_start_matches("http://").to_string();
    // With the default timeouts, each tool on its own (its own breaker state).
    let tools: Vec<(&str, Vec<&str>)> = vec![
        ("cache_download", vec!["s-1.tar.gz", "out"]),
        ("cache_upload", vec!["s-1.tar.gz", "build"]),
        ("cache_exists", vec!["s-1.tar.gz"]),
        ("cache_log", vec!["silent log", "k1"]),
    ];
    let handles: Vec<_> = tools
        .into_iter()
        .enumerate()
        .map(|(i, (tool, args))| {
            let mut cmd = against(&work, tool, &server, &format!("xdg-{i}"));
            cmd.args(&args);
            std::thread::spawn(move || {
                let started = Instant::now();
                let out = run(&mut cmd);
                (tool, out, started.elapsed())
            })
        })
        .collect();
    for h in handles {
        let (tool, out, took) = h.join().unwrap();
        assert!(took < Duration::from_secs(40), "{tool} took {took:?}");
        assert!(out.stderr.contains("timed out"), "{tool}: {}", out.stderr);
        assert!(
            out.stderr.contains(&host),
            "{tool} names the endpoint: {}",
            out.stderr
        );
    }
    // The next tool with the same state says so at once.
    let started = Instant::now();
    let out = run(against(&work, "cache_download", &server, "xdg-0").args(["s-1.tar.gz", "out"]));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("unreachable (recently"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_stalling_server_fails_the_transfer_and_leaks_no_signature() {
    let work = Work::new();
    let server = serve(stalling);
    let started = Instant::now();
    let down = run(against(&work, "cache_download", &server, "xdg-d")
        .args(["st-1.tar.gz", "out"])
        .env("CI3_S3_TIMEOUT", "3"));
    assert_eq!(down.code, 1);
    assert!(down.stderr.contains("timed out"), "{}", down.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // A multipart upload whose parts stall: over 8 MiB, incompressible.
    let noise = noise(12_000_000, 2);
    fs::write(work.path("build/noise.bin"), noise).unwrap();
    let up = run(against(&work, "cache_upload", &server, "xdg-u")
        .args(["missing-1.tar.zst", "build"])
        .env("CI3_S3_TIMEOUT", "3"));
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(
        up.stderr
            .contains("Cache upload of missing-1.tar.zst failed."),
        "{}",
        up.stderr
    );
    for secret in ["X-Amz-Signature", "X-Amz-Credential", "AKIAFAKE"] {
        assert!(
            !up.stderr.contains(secret),
            "{secret} leaked: {}",
            up.stderr
        );
    }
}

#[test]
fn a_killed_multipart_upload_is_aborted_by_the_next_one() {
    let Ok(endpoint) = std::env::var("CI3_S3_ENDPOINT") else {
        panic!("CI3_S3_ENDPOINT is not set: run the tests with `bash ci3/run_tests`");
    };
    let data = PathBuf::from(std::env::var("CI3_TEST_S3_DATA").expect("CI3_TEST_S3_DATA"));
    let work = Work::new();
    let noise = noise(120_000_000, 3);
    fs::write(work.path("build/noise.bin"), noise).unwrap();
    let s3 = |cmd: &mut Command| {
        cmd.env(
            "CI3_STORE",
            format!(
                "s3://{}/faults-{}",
                std::env::var("CI3_S3_BUCKET").unwrap(),
                std::process::id()
            ),
        )
        .env("CI3_S3_ENDPOINT", &endpoint)
        .env("CI", "1")
        .env_remove("CACHE_LOCAL_DIR");
    };
    // The server keeps an in-flight multipart upload as `.upload-ID.json`; other tests of this
    // binary upload at the same time, so only this upload's own id is looked at.
    let in_flight = |id: &str| {
        data.join("store")
            .join(format!(".upload-{id}.json"))
            .exists()
    };
    // Killed once the upload is under way: its multipart upload begun and recorded (URL, key and
    // upload id, one a line). (Between the server's answer to the start and the record there are
    // a few microseconds a kill could land in; the record cannot come first, the upload id comes
    // from the server.)
    let records = work.path("xdg/ci3/multipart");
    let recorded_id = || -> Option<String> {
        let record = fs::read_dir(&records).ok()?.flatten().next()?.path();
        let text = fs::read_to_string(record).ok()?;
        text.lines().nth(2).map(str::to_string)
    };
    let mut up = work.tool("cache_upload");
    s3(&mut up);
    let mut child = up
        .args(["mp-1.tar.zst", "build"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut killed = None;
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        if let Some(id) = recorded_id() {
            child.kill().unwrap();
            killed = Some(id);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.wait();
    let id = killed.expect("no kill caught a multipart upload in flight");
    assert!(
        in_flight(&id),
        "the killed upload is in flight on the server"
    );
    let mut next = work.tool("cache_upload");
    s3(&mut next);
    let out = run(next.args(["mp-2.tar.zst", "build/sub"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!in_flight(&id), "the killed upload was aborted");
}

#[test]
fn the_size_cap_evicts_the_least_recently_read() {
    let work = Work::new();
    let cap = [("CI3_CACHE_MAX_SIZE", "50M")];
    let mut names = Vec::new();
    for i in 0..20u32 {
        let dir = work.path(&format!("a{i}"));
        fs::create_dir_all(&dir).unwrap();
        let bytes = noise(5_000_000, 10 + u64::from(i));
        fs::write(dir.join("blob"), bytes).unwrap();
        let name = format!("art-{i}.tar.zst");
        let out = run(work
            .tool("cache_upload")
            .envs(cap)
            .env_remove("CACHE_LOCAL_DIR")
            .args([name.as_str(), &format!("a{i}")]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        names.push(name);
        if i == 2 {
            // The first artifacts are read back now and then: they are the recently used ones.
            std::thread::sleep(Duration::from_millis(1100));
        }
        if i >= 3 {
            for early in &names[..2] {
                let out = run(work
                    .tool("rebuild_needed")
                    .env_remove("CACHE_LOCAL_DIR")
                    .arg(early));
                assert_eq!(out.code, 1, "{early} still there after {i}: {}", out.stderr);
                let down = run(work
                    .tool("cache_download")
                    .env_remove("CACHE_LOCAL_DIR")
                    .args([early.as_str(), "back"]));
                assert_eq!(down.code, 0, "{}", down.stderr);
            }
        }
    }
    let store = work.path("store");
    let total: u64 = fs::read_dir(&store)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(total <= 50 << 20, "the cap holds: {total}");
    assert!(
        store.join("art-0.tar.zst").exists() && store.join("art-1.tar.zst").exists(),
        "read back, kept"
    );
    assert!(
        !store.join("art-2.tar.zst").exists(),
        "never read again, evicted"
    );
    assert!(store.join("art-19.tar.zst").exists());

    let dry = run(work.tool("cache_gc").env_remove("CACHE_LOCAL_DIR").args([
        "--dry-run",
        "--max-size",
        "20M",
    ]));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let listed: Vec<&str> = dry.stdout.lines().collect();
    assert!(!listed.is_empty());
    for path in &listed {
        assert!(
            Path::new(path).exists(),
            "a dry run removes nothing: {path}"
        );
    }
    assert!(dry.stderr.contains("Would remove"), "{}", dry.stderr);
    let gc = run(work
        .tool("cache_gc")
        .env_remove("CACHE_LOCAL_DIR")
        .args(["--max-size", "20M"]));
    assert_eq!(gc.code, 0);
    assert_eq!(gc.stdout, dry.stdout, "it removes what the dry run listed");
    for path in &listed {
        assert!(!Path::new(path).exists());
    }
}
