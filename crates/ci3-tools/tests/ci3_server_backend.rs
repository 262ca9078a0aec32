//! Our tools against our server (spec 3.7, group 2): `CI3_STORE=ci3+http://` over a directory
//! store and over the S3 test server; a tampered object is a loud miss; trust; breaker and
//! offline; tasks; a dead server never falls back to the embedded store; CI's preflight; a URL
//! with a password refused without echoing it.

mod common;

use std::fs;
use std::path::Path;

use common::cache::{make_tree, snapshot, Env, Where};
use common::server::{dir_store, s3_store, Server};
use common::tasks::{app, task, Fixture, FILES};
use common::{command, exe::exe, run};

fn url(server: &Server) -> String {
    format!("ci3+http://127.0.0.1:{}", server.port)
}

/// The tools pointed at `server`, working in `cwd`.
fn tools(server: &Server, cwd: &Path) -> Env {
    Env::new(Where::Dir("/nonexistent-never-used".into()), cwd).var("CI3_STORE", &url(server))
}

/// Upload, exists, download, flags, listing, deletion through `server`; `stored` says whether
/// the server's own store holds object NAME.
fn round_trip(server: &Server, stored: &dyn Fn(&str) -> bool) {
    let tmp = tempfile::tempdir().unwrap();
    let build = make_tree(tmp.path());
    let before = snapshot(&build);
    let env = tools(server, tmp.path());

    // No CI gate: a server is written at CI=0, as upstream's scripts upload to theirs.
    let up = env.run("cache_upload", &["app-1.tar.gz", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(
        stored("app-1.tar.gz"),
        "the server's store holds the artifact"
    );
    let again = env.run("cache_upload", &["app-1.tar.gz", "build"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("Skipping upload, already exists: app-1.tar.gz"),
        "{}",
        again.stderr
    );
    assert_eq!(env.run("cache_exists", &["app-1.tar.gz"]).code, 0);
    assert_eq!(env.run("cache_exists", &["nope.tar.gz"]).code, 1);

    fs::remove_dir_all(&build).unwrap();
    let down = env.run("cache_download", &["app-1.tar.gz"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(snapshot(&build), before);
    let miss = env.run("cache_download", &["nope.tar.gz"]);
    assert_eq!(miss.code, 1, "{}", miss.stderr);

    let ci = tools(server, tmp.path()).var("CI", "1");
    assert_eq!(ci.run("cache_upload_flag", &["tests-1"]).code, 0);
    assert!(stored("tests-1.flag"));
    assert_eq!(ci.run("cache_download_flag", &["tests-1"]).code, 0);
    assert_eq!(ci.run("cache_download_flag", &["tests-2"]).code, 1);

    let listed = run(&mut env.cmd("cache_ls", &["app-1.tar.gz"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l == "build/nested/deeper/data.txt"),
        "{}",
        listed.stdout
    );

    let gone = env.run("cache_delete", &["app-1.tar.gz"]);
    assert_eq!(gone.code, 0, "{}", gone.stderr);
    assert!(!stored("app-1.tar.gz"), "deleted from the server's store");
    assert_eq!(env.run("cache_exists", &["app-1.tar.gz"]).code, 1);

    parted_round_trip(server, stored);
}

/// An artifact of several 8 MiB parts goes up as our server's parted upload, streamed as it is
/// compressed: no spool file (the scratch directory does not exist), and it comes back whole.
fn parted_round_trip(server: &Server, stored: &dyn Fn(&str) -> bool) {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big");
    fs::create_dir_all(&big).unwrap();
    // Incompressible: 20 MiB stay 3 parts after compression.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..20 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs::write(big.join("noise.bin"), &noise).unwrap();
    let before = snapshot(&big);
    let env = tools(server, tmp.path());
    let up = run(env
        .cmd("cache_upload", &["big-1.tar.gz", "big"])
        .env("TMPDIR", "/nonexistent-no-spool-here"));
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(stored("big-1.tar.gz"), "the server's store holds it");
    let again = env.run("cache_upload", &["big-1.tar.gz", "big"]);
    assert!(
        again
            .stderr
            .contains("Skipping upload, already exists: big-1.tar.gz"),
        "{}",
        again.stderr
    );
    fs::remove_dir_all(&big).unwrap();
    let down = env.run("cache_download", &["big-1.tar.gz"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(snapshot(&big), before);
}

#[test]
fn round_trip_over_a_directory_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let server = Server::run(&dir_store(&store), &tmp.path().join("xdg"), &[]);
    round_trip(&server, &|name| store.join(name).is_file());
}

#[test]
fn round_trip_over_s3() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::run(&s3_store("backend"), &tmp.path().join("xdg"), &[]);
    round_trip(&server, &|name| {
        server
            .ask("HEAD", &format!("/objects/{name}"), &[], None)
            .status
            == 200
    });
}

#[test]
fn a_tampered_artifact_is_a_loud_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let server = Server::run(&dir_store(&store), &tmp.path().join("xdg"), &[]);
    make_tree(tmp.path());
    let env = tools(&server, tmp.path());
    assert_eq!(env.run("cache_upload", &["app-t.tar.gz", "build"]).code, 0);
    // Changed behind the server's back: one byte in the middle.
    let object = store.join("app-t.tar.gz");
    let mut bytes = fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&object, bytes).unwrap();
    fs::remove_dir_all(tmp.path().join("build")).unwrap();
    let down = env.run("cache_download", &["app-t.tar.gz"]);
    assert_eq!(down.code, 1, "{}", down.stderr);
    assert!(
        down.stderr.to_lowercase().contains("corrupt")
            || down.stderr.contains("digest")
            || down.stderr.contains("integrity"),
        "says why: {}",
        down.stderr
    );
    assert!(!tmp.path().join("build").exists(), "nothing extracted");
}

#[test]
fn trusted_keys_refuse_an_unsigned_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::run(
        &dir_store(&tmp.path().join("store")),
        &tmp.path().join("xdg"),
        &[],
    );
    let keys = tmp.path().join("keys");
    let made = run(command(exe("cache_keygen")).arg(&keys));
    assert_eq!(made.code, 0, "{}", made.stderr);
    make_tree(tmp.path());
    let env = tools(&server, tmp.path());
    assert_eq!(env.run("cache_upload", &["app-u.tar.gz", "build"]).code, 0);
    fs::remove_dir_all(tmp.path().join("build")).unwrap();
    let reader = tools(&server, tmp.path()).var("CI3_TRUSTED_KEYS", made.line());
    let down = reader.run("cache_download", &["app-u.tar.gz"]);
    assert_eq!(down.code, 1, "{}", down.stderr);
    assert!(
        down.stderr.contains("untrusted (unsigned)"),
        "{}",
        down.stderr
    );
    assert!(!tmp.path().join("build").exists());
}

#[test]
fn a_dead_server_never_reads_the_embedded_store_and_trips_the_breaker() {
    let tmp = tempfile::tempdir().unwrap();
    // Plant the artifact in the directory store the tools would use with no store configured.
    make_tree(tmp.path());
    let planting = Env::new(Where::Dir(tmp.path().join("unused")), tmp.path());
    let embedded = tmp.path().join("xdg/ci3/store");
    let mut plant = planting.cmd("cache_upload", &["app-d.tar.gz", "build"]);
    plant
        .env_remove("CI3_STORE")
        .env("XDG_CACHE_HOME", tmp.path().join("xdg"));
    let up = run(&mut plant);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(embedded.join("app-d.tar.gz").is_file());
    fs::remove_dir_all(tmp.path().join("build")).unwrap();

    let port = common::server::free_port();
    let dead = |extra: &[(&str, &str)]| {
        let mut cmd = planting.cmd("cache_download", &["app-d.tar.gz"]);
        cmd.env("XDG_CACHE_HOME", tmp.path().join("xdg"))
            .env("CI3_STORE", format!("ci3+http://127.0.0.1:{port}"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    let first = dead(&[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("connection refused"),
        "{}",
        first.stderr
    );
    assert!(!tmp.path().join("build").exists(), "no silent fallback");
    let second = dead(&[]);
    assert_eq!(second.code, 1);
    assert!(
        second.stderr.contains("unreachable (recently:"),
        "the breaker answers: {}",
        second.stderr
    );
    let offline = dead(&[("CI3_OFFLINE", "1")]);
    assert_eq!(offline.code, 1);
    assert!(
        offline.stderr.contains("offline (CI3_OFFLINE=1)"),
        "{}",
        offline.stderr
    );
    assert!(!tmp.path().join("build").exists());
    // The same through CI3_SERVER, with S3 variables set too: they are not asked either.
    let s3 = dead(&[
        ("CI3_STORE", ""),
        ("CI3_SERVER", &format!("http://127.0.0.1:{port}")),
        ("CI3_S3_BUCKET", "never-asked"),
    ]);
    assert_eq!(s3.code, 1, "{}", s3.stderr);
    assert!(
        s3.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        s3.stderr
    );
    assert!(!s3.stderr.contains("never-asked"), "{}", s3.stderr);
    assert!(!tmp.path().join("build").exists());
}

#[test]
fn ci_with_a_wrong_password_exits_2_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let password = tmp.path().join("password");
    fs::write(&password, "right-one\n").unwrap();
    let store = tmp.path().join("store");
    let server = Server::run(
        &dir_store(&store),
        &tmp.path().join("xdg"),
        &["--password-file", password.to_str().unwrap()],
    );
    make_tree(tmp.path());
    let wrong = tools(&server, tmp.path())
        .var("CI", "1")
        .var("CI3_PASSWORD", "wrong-one");
    let up = wrong.run("cache_upload", &["app-p.tar.gz", "build"]);
    assert_eq!(up.code, 2, "{}", up.stderr);
    assert!(
        up.stderr.contains("refused the credentials (HTTP 401)"),
        "{}",
        up.stderr
    );
    assert!(!up.stderr.contains("wrong-one"), "{}", up.stderr);
    assert!(!store.join("app-p.tar.gz").exists());
    let right = tools(&server, tmp.path())
        .var("CI", "1")
        .var("CI3_PASSWORD", "right-one");
    let up = right.run("cache_upload", &["app-p.tar.gz", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(store.join("app-p.tar.gz").is_file());
}

#[test]
fn a_server_url_with_a_password_exits_2_without_printing_it() {
    let tmp = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("CI3_SERVER", "http://aztec:hunter2@127.0.0.1:1"),
        ("CI3_STORE", "ci3+https://aztec:hunter2@ci.example"),
        ("CI3_SERVER", "http://127.0.0.1:1/?token=hunter2"),
    ] {
        let env = Env::new(Where::Dir(tmp.path().join("unused")), tmp.path()).var(var, value);
        let mut cmd = env.cmd("cache_exists", &["x.tar.gz"]);
        if var == "CI3_SERVER" {
            cmd.env_remove("CI3_STORE");
        }
        let out = run(&mut cmd);
        assert_eq!(out.code, 2, "{value}: {}", out.stderr);
        assert!(out.stderr.contains(var), "{}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    }
}

#[test]
fn task_status_says_exist_after_task_run_through_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let server = Server::run(&dir_store(&store), &tmp.path().join("xdg"), &[]);
    let mut f = Fixture::committed(&[
        ("calc/a.txt", "1\n"),
        (
            "calc/.app.toml",
            &app("calc", &task("build", "[\"true\"]", FILES)),
        ),
    ]);
    f.vars.push(("CI3_STORE".into(), url(&server)));
    assert_eq!(f.status(&[]), ["calc.build,Pending"]);
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.status(&[]), ["calc.build,Exist"]);
    assert!(
        store.join(".ci3/runs").is_dir(),
        "the run record is in the server's store"
    );
    assert!(
        fs::read_dir(f.store.path()).unwrap().next().is_none(),
        "the fixture's own directory store is not used"
    );
}

#[test]
fn an_artifact_the_server_lacks_comes_from_the_public_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = Server::run(
        &dir_store(&tmp.path().join("empty")),
        &tmp.path().join("xdg-a"),
        &[],
    );
    let public = Server::run(
        &dir_store(&tmp.path().join("public")),
        &tmp.path().join("xdg-b"),
        &[],
    );
    let build = make_tree(tmp.path());
    let before = snapshot(&build);
    let up = tools(&public, tmp.path()).run("cache_upload", &["app-pub.tar.gz", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    fs::remove_dir_all(&build).unwrap();

    let reader = tools(&empty, tmp.path())
        .var(
            "CI3_PUBLIC_CACHE_URL",
            &format!("http://127.0.0.1:{}/artifacts", public.port),
        )
        .var("CI3_S3_PREFIX", "");
    let down = reader.run("cache_download", &["app-pub.tar.gz"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(snapshot(&build), before);
    assert!(
        !tmp.path().join("empty/app-pub.tar.gz").exists(),
        "a read does not copy into the server"
    );
    // Without the public cache it is a miss.
    fs::remove_dir_all(&build).unwrap();
    let miss = tools(&empty, tmp.path()).run("cache_download", &["app-pub.tar.gz"]);
    assert_eq!(miss.code, 1, "{}", miss.stderr);
}
