//! cache_upload, cache_download, flags and friends against the directory store and the real
//! S3-compatible server that `test_source` starts (run with `bash ci3/run_tests`).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{command, run, Output};

fn exe(tool: &str) -> &'static str {
    match tool {
        "cache_upload" => env!("CARGO_BIN_EXE_cache_upload"),
        "cache_download" => env!("CARGO_BIN_EXE_cache_download"),
        "cache_exists" => env!("CARGO_BIN_EXE_cache_exists"),
        "cache_ls" => env!("CARGO_BIN_EXE_cache_ls"),
        "cache_delete" => env!("CARGO_BIN_EXE_cache_delete"),
        "cache_upload_flag" => env!("CARGO_BIN_EXE_cache_upload_flag"),
        "cache_download_flag" => env!("CARGO_BIN_EXE_cache_download_flag"),
        "test_should_run" => env!("CARGO_BIN_EXE_test_should_run"),
        other => panic!("unknown tool {other}"),
    }
}

/// Where the tools look, with everything else isolated.
#[derive(Clone)]
enum Where {
    Dir(PathBuf),
    /// The test S3 server, under a prefix of its own.
    S3(String),
    /// An S3 endpoint where nothing listens.
    Closed,
    /// Anonymous reads from `CI3_PUBLIC_CACHE_URL`, with no credentials anywhere.
    Public(String),
}

struct Env {
    at: Where,
    vars: Vec<(String, String)>,
    cwd: PathBuf,
}

impl Env {
    fn new(at: Where, cwd: &Path) -> Env {
        Env {
            at,
            vars: Vec::new(),
            cwd: cwd.to_path_buf(),
        }
    }

    fn var(mut self, k: &str, v: &str) -> Env {
        self.vars.push((k.into(), v.into()));
        self
    }

    fn cmd(&self, tool: &str, args: &[&str]) -> Command {
        self.cmd_any(exe(tool), args)
    }

    /// A command for any executable, with this environment.
    fn cmd_any(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = command(program);
        cmd.current_dir(&self.cwd).args(args);
        for var in [
            "CI3_S3_BUCKET",
            "CI3_S3_ENDPOINT",
            "S3_BUILD_CACHE_AWS_PARAMS",
            "CI3_S3_PREFIX",
            "TEST",
            "XDG_CACHE_HOME",
        ] {
            cmd.env_remove(var);
        }
        match &self.at {
            Where::Dir(dir) => {
                cmd.env("CI3_STORE", format!("file://{}", dir.display()));
            }
            Where::S3(prefix) => {
                cmd.env(
                    "CI3_STORE",
                    format!("s3://{}/{prefix}", s3_var("CI3_S3_BUCKET")),
                )
                .env("CI3_S3_ENDPOINT", s3_var("CI3_S3_ENDPOINT"));
            }
            Where::Closed => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port();
                cmd.env("CI3_STORE", "s3://nowhere/p")
                    .env("CI3_S3_ENDPOINT", format!("http://127.0.0.1:{port}"));
            }
            Where::Public(url) => {
                for var in [
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN",
                ] {
                    cmd.env_remove(var);
                }
                // No shared credentials file either.
                cmd.env("CI3_PUBLIC_CACHE_URL", url)
                    .env("HOME", std::env::temp_dir().join("ci3-tests-no-home"))
                    .env_remove("AWS_PROFILE");
            }
        }
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let out = run(&mut self.cmd(tool, args));
        assert_eq!(out.stdout, "", "{tool} must keep stdout empty");
        out
    }
}

fn s3_var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with `bash ci3/run_tests`"))
}

fn s3_prefix(test: &str) -> Where {
    Where::S3(format!("{test}-{}/", std::process::id()))
}

/// A build output tree: a file, an executable, a symlink inside the tree, an empty dir, a
/// nested dir, and an old mtime.
fn make_tree(root: &Path) -> PathBuf {
    let out = root.join("build");
    std::fs::create_dir_all(out.join("nested/deeper")).unwrap();
    std::fs::create_dir_all(out.join("empty")).unwrap();
    std::fs::write(out.join("lib.a"), vec![7u8; 100_000]).unwrap();
    std::fs::write(out.join("run.sh"), "#!/bin/sh\necho run\n").unwrap();
    std::fs::set_permissions(out.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(out.join("nested/deeper/data.txt"), "data\n").unwrap();
    std::os::unix::fs::symlink("nested/deeper/data.txt", out.join("link")).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(out.join("lib.a"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    out
}

/// path -> (kind, mode, mtime, content or link target), for comparing trees.
fn snapshot(root: &Path) -> BTreeMap<String, (char, u32, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (char, u32, i64, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let ft = md.file_type();
            if ft.is_symlink() {
                out.insert(
                    rel,
                    (
                        'l',
                        0,
                        0,
                        std::fs::read_link(&p)
                            .unwrap()
                            .display()
                            .to_string()
                            .into_bytes(),
                    ),
                );
            } else if ft.is_dir() {
                out.insert(rel, ('d', md.mode() & 0o7777, 0, Vec::new()));
                walk(root, &p, out);
            } else {
                out.insert(
                    rel,
                    (
                        'f',
                        md.mode() & 0o7777,
                        md.mtime(),
                        std::fs::read(&p).unwrap(),
                    ),
                );
            }
        }
    }
    walk(root, root, &mut out);
    out
}

fn round_trip(at: Where, name: &str) {
    let work = tempfile::tempdir().unwrap();
    let built = make_tree(work.path());
    let env = Env::new(at, work.path()).var("CI", "1");
    let up = env.run("cache_upload", &[name, "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(
        up.stderr
            .contains(&format!("Cache upload of {name} complete in")),
        "{}",
        up.stderr
    );
    assert!(
        !up.stderr.to_lowercase().contains("local cache"),
        "no local-cache words without CACHE_LOCAL_DIR: {}",
        up.stderr
    );

    let exists = env.run("cache_exists", &[name]);
    assert_eq!(exists.code, 0);

    let dest = work.path().join("restored");
    let down = env.run("cache_download", &[name, dest.to_str().unwrap()]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        down.stderr.contains(&format!(
            "Cache download and extraction of {name} complete in"
        )),
        "{}",
        down.stderr
    );
    assert!(
        !down.stderr.to_lowercase().contains("local cache"),
        "{}",
        down.stderr
    );
    assert_eq!(snapshot(&dest.join("build")), snapshot(&built));

    let ls = run(&mut env.cmd("cache_ls", &[name]));
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    for entry in [
        "build/",
        "build/empty/",
        "build/lib.a",
        "build/link",
        "build/nested/deeper/data.txt",
        "build/run.sh",
    ] {
        assert!(
            ls.stdout.lines().any(|l| l == entry),
            "cache_ls lists {entry}: {}",
            ls.stdout
        );
    }

    let again = env.run("cache_upload", &[name, "build"]);
    assert!(
        again
            .stderr
            .contains(&format!("Skipping S3 upload, already exists: {name}")),
        "{}",
        again.stderr
    );

    assert_eq!(env.run("cache_delete", &[name]).code, 0);
    assert_eq!(env.run("cache_exists", &[name]).code, 1);
    assert_eq!(env.run("cache_delete", &[name]).code, 1);
}

#[test]
fn round_trip_gzip_and_zstd_on_s3() {
    round_trip(s3_prefix("rt"), "proj-0123456789abcdef.tar.gz");
    round_trip(s3_prefix("rt"), "proj-0123456789abcdef.zst");
}

#[test]
fn round_trip_on_the_directory_store() {
    let store = tempfile::tempdir().unwrap();
    round_trip(Where::Dir(store.path().to_path_buf()), "proj-aa.tar.gz");
    round_trip(Where::Dir(store.path().to_path_buf()), "proj-aa.tar.zst");
}

#[test]
fn misses_sentinel_and_no_cache() {
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let env = Env::new(s3_prefix("miss"), work.path()).var("CI", "1");
    let miss = env.run("cache_download", &["never-uploaded.tar.gz", "out"]);
    assert_eq!(miss.code, 1);
    assert!(
        miss.stderr
            .contains("Cache download of never-uploaded.tar.gz failed."),
        "{}",
        miss.stderr
    );
    assert!(
        !work.path().join("out").exists()
            || std::fs::read_dir(work.path().join("out"))
                .unwrap()
                .next()
                .is_none()
    );

    let up = env.run("cache_upload", &["p-disabled-cache.tar.gz", "build"]);
    assert_eq!(up.code, 0);
    assert!(
        up.stderr.contains(
            "Skipping upload of p-disabled-cache.tar.gz due to uncommitted changes/files."
        ),
        "{}",
        up.stderr
    );
    let down = env.run("cache_download", &["p-disabled-cache.tar.gz"]);
    assert_eq!(down.code, 1);
    assert!(down
        .stderr
        .contains("Not using cache for p-disabled-cache.tar.gz due to uncommitted changes/files."));
    assert_eq!(
        env.run("cache_exists", &["p-disabled-cache.tar.gz"]).code,
        1
    );

    assert_eq!(env.run("cache_upload", &["p-1.tar.gz", "build"]).code, 0);
    let no_cache = Env::new(s3_prefix("miss"), work.path()).var("NO_CACHE", "1");
    let down = no_cache.run("cache_download", &["p-1.tar.gz", "out"]);
    assert_eq!(down.code, 1);
    assert!(down
        .stderr
        .contains("Not using cache for p-1.tar.gz because NO_CACHE=1."));
    assert_eq!(no_cache.run("cache_exists", &["p-1.tar.gz"]).code, 1);
    let no_upload = Env::new(s3_prefix("miss"), work.path())
        .var("CI", "1")
        .var("NO_CACHE_UPLOAD", "1");
    let up = no_upload.run("cache_upload", &["p-2.tar.gz", "build"]);
    assert_eq!(up.code, 0);
    assert_eq!(
        Env::new(s3_prefix("miss"), work.path())
            .run("cache_exists", &["p-2.tar.gz"])
            .code,
        1
    );

    let usage = run(&mut env.cmd("cache_upload", &["only-a-name.tar.gz"]));
    assert_eq!(usage.code, 1);
    let missing_input = env.run("cache_upload", &["p-3.tar.gz", "no-such-dir"]);
    assert_ne!(missing_input.code, 0, "a missing input path is an error");
    assert!(
        missing_input.stderr.contains("no-such-dir"),
        "{}",
        missing_input.stderr
    );
}

#[test]
fn ci_gate_force_upload_and_exact_keys() {
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let at = s3_prefix("gate");
    let local_ci0 = Env::new(at.clone(), work.path());
    let up = local_ci0.run("cache_upload", &["g.tar.gz", "build"]);
    assert_eq!(up.code, 0);
    assert!(
        up.stderr
            .contains("Skipping S3 upload because CI=0 and S3_FORCE_UPLOAD not set."),
        "{}",
        up.stderr
    );
    assert!(up
        .stderr
        .contains("Skipping upload: no S3 upload to do and no CACHE_LOCAL_DIR to save into."));
    assert_eq!(local_ci0.run("cache_exists", &["g.tar.gz"]).code, 1);

    let forced = Env::new(at.clone(), work.path()).var("S3_FORCE_UPLOAD", "1");
    let up = forced.run("cache_upload", &["g.tar.gz", "build"]);
    assert!(
        up.stderr.contains("Cache upload of g.tar.gz complete"),
        "{}",
        up.stderr
    );
    // Forced uploads overwrite: new content replaces the old.
    std::fs::write(work.path().join("build/lib.a"), b"new").unwrap();
    let up = forced.run("cache_upload", &["g.tar.gz", "build"]);
    assert!(
        up.stderr.contains("Cache upload of g.tar.gz complete"),
        "{}",
        up.stderr
    );
    let down = local_ci0.run("cache_download", &["g.tar.gz", "fresh"]);
    assert_eq!(down.code, 0);
    assert_eq!(
        std::fs::read(work.path().join("fresh/build/lib.a")).unwrap(),
        b"new"
    );

    // "already exists" is about the exact key: a longer name with the same prefix is not it.
    let ci = Env::new(at, work.path()).var("CI", "1");
    let up = ci.run("cache_upload", &["g.tar.gz.part2", "build"]);
    assert!(
        up.stderr
            .contains("Cache upload of g.tar.gz.part2 complete"),
        "{}",
        up.stderr
    );
    let up = ci.run("cache_upload", &["g.tar", "build"]);
    assert!(
        up.stderr.contains("Cache upload of g.tar complete"),
        "{}",
        up.stderr
    );
}

#[test]
fn compat_variable_selects_s3_with_its_endpoint() {
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let mut cmd = command(exe("cache_upload"));
    cmd.current_dir(work.path())
        .args(["compat-1.tar.gz", "build"])
        .env_remove("CI3_S3_ENDPOINT")
        .env("CI", "1")
        .env("CI3_S3_BUCKET", s3_var("CI3_S3_BUCKET"))
        .env("CI3_S3_PREFIX", format!("compat-{}/", std::process::id()))
        .env(
            "S3_BUILD_CACHE_AWS_PARAMS",
            format!(
                "--endpoint-url {} --region us-east-1",
                s3_var("CI3_S3_ENDPOINT")
            ),
        );
    let out = run(&mut cmd);
    assert!(
        out.stderr
            .contains("Cache upload of compat-1.tar.gz complete"),
        "{}",
        out.stderr
    );
    let env = Env::new(
        Where::S3(format!("compat-{}/", std::process::id())),
        work.path(),
    );
    assert_eq!(env.run("cache_exists", &["compat-1.tar.gz"]).code, 0);
}

#[test]
fn flags_and_test_should_run() {
    let work = tempfile::tempdir().unwrap();
    let at = s3_prefix("flags");
    let ci0 = Env::new(at.clone(), work.path());
    let out = ci0.run("cache_upload_flag", &["tests-abc"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("Not uploading test flag tests-abc because CI=0."),
        "{}",
        out.stderr
    );
    assert_eq!(ci0.run("cache_download_flag", &["tests-abc"]).code, 1);

    let ci = Env::new(at.clone(), work.path())
        .var("CI", "1")
        .var("GITHUB_RUN_URL", "https://ci.example/run/7");
    assert_eq!(
        ci.run("test_should_run", &["tests-abc"]).code,
        0,
        "CI=1 and no flag: run"
    );
    assert_eq!(ci.run("cache_upload_flag", &["tests-abc"]).code, 0);
    assert_eq!(ci.run("cache_download_flag", &["tests-abc"]).code, 0);
    assert_eq!(
        ci.run("cache_upload_flag", &["tests-disabled-cache"]).code,
        0
    );
    assert_eq!(
        ci.run("cache_download_flag", &["tests-disabled-cache"])
            .code,
        1
    );
    // Several flags: all must be there (the deploy gate).
    assert_eq!(
        ci.run("cache_download_flag", &["tests-abc", "tests-def"])
            .code,
        1
    );
    assert_eq!(ci.run("cache_upload_flag", &["tests-def"]).code, 0);
    assert_eq!(
        ci.run("cache_download_flag", &["tests-abc", "tests-def"])
            .code,
        0
    );
    let no_cache = Env::new(at.clone(), work.path()).var("NO_CACHE", "1");
    assert_eq!(no_cache.run("cache_download_flag", &["tests-abc"]).code, 1);

    // The flag body records what passed.
    if let Where::S3(prefix) = &at {
        let s3 = ci3::store::S3Settings::at(
            &s3_var("CI3_S3_ENDPOINT"),
            &s3_var("CI3_S3_BUCKET"),
            prefix,
            &s3_var("AWS_ACCESS_KEY_ID"),
            &s3_var("AWS_SECRET_ACCESS_KEY"),
        );
        let store = ci3::store::S3Store::new(s3, std::sync::Arc::new(ci3::report::Silent)).unwrap();
        let mut body = Vec::new();
        use ci3::store::Store;
        assert!(store.get("tests-abc.flag", &mut body).unwrap());
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("run: https://ci.example/run/7"), "{body}");
    }

    // test_should_run skips only with CI=1 and the flag there; TEST is not read (a local run
    // runs every test).
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, i32, &'a str);
    let matrix: &[Case] = &[
        (&[], "tests-new", 0, "CI=0 runs every test"),
        (&[], "tests-abc", 0, "CI=0 runs every test"),
        (&[("TEST", "0")], "tests-abc", 0, "CI=0 runs every test"),
        (
            &[("TEST", "0"), ("CI", "1")],
            "tests-new",
            0,
            "no success flag",
        ),
        (&[("TEST", "1")], "tests-new", 0, "CI=0 runs every test"),
        (&[("CI", "1")], "tests-new", 0, "no success flag"),
        (&[("CI", "1")], "tests-abc", 1, "it already passed"),
        (
            &[("CI", "1"), ("TEST", "1")],
            "tests-abc",
            1,
            "it already passed",
        ),
        (
            &[("CI", "1"), ("NO_CACHE", "1")],
            "tests-abc",
            0,
            "no success flag",
        ),
    ];
    for (vars, name, expected, why) in matrix {
        let mut env = Env::new(at.clone(), work.path());
        for (k, v) in *vars {
            env = env.var(k, v);
        }
        let out = env.run("test_should_run", &[name]);
        assert_eq!(out.code, *expected, "{vars:?} {name}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{vars:?} {name}");
        assert!(out.stderr.contains(why), "{vars:?} {name}: {}", out.stderr);
    }
}

#[test]
fn denied_and_unreachable_are_not_misses() {
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let at = s3_prefix("denied");
    assert_eq!(
        Env::new(at.clone(), work.path())
            .var("CI", "1")
            .run("cache_upload", &["d.tar.gz", "build"])
            .code,
        0
    );

    let denied = Env::new(at, work.path())
        .var("CI", "1")
        .var("AWS_SECRET_ACCESS_KEY", "wrong");
    let up = denied.run("cache_upload", &["d2.tar.gz", "build"]);
    assert_eq!(up.code, 0, "a denied store never fails the build");
    assert!(up.stderr.contains("denied"), "{}", up.stderr);
    let down = denied.run("cache_download", &["d.tar.gz", "out"]);
    assert_eq!(down.code, 1);
    assert!(
        down.stderr.contains("Cache download of d.tar.gz failed.")
            && down.stderr.contains("denied"),
        "{}",
        down.stderr
    );
    assert!(
        !down.stderr.contains("Not in"),
        "denied is not reported as a miss: {}",
        down.stderr
    );

    let closed = Env::new(Where::Closed, work.path())
        .var("CI", "1")
        .var("AWS_ACCESS_KEY_ID", "k")
        .var("AWS_SECRET_ACCESS_KEY", "s");
    let up = closed.run("cache_upload", &["u.tar.gz", "build"]);
    assert_eq!(up.code, 0);
    assert!(up.stderr.contains("unreachable"), "{}", up.stderr);
    let down = closed.run("cache_download", &["u.tar.gz", "out"]);
    assert_eq!(down.code, 1);
    assert!(down.stderr.contains("unreachable"), "{}", down.stderr);
    let out = work.path().join("out");
    assert!(
        !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing left behind"
    );
}

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

/// Writes a tar.gz with raw headers, so the names really are what a hostile archive carries.
fn hostile_archive(
    path: &Path,
    build: impl FnOnce(&mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>),
) {
    let file = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    build(&mut b);
    b.into_inner().unwrap().finish().unwrap();
}

fn raw_entry(
    kind: tar::EntryType,
    name: &[u8],
    link: Option<&[u8]>,
    data: &[u8],
) -> (tar::Header, Vec<u8>) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    if let Some(link) = link {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    (h, data.to_vec())
}

#[test]
fn hostile_archives_are_refused() {
    let store = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path());
    type Raw<'a> = (tar::EntryType, &'a [u8], Option<&'a [u8]>);
    let cases: Vec<(&str, Vec<Raw>)> = vec![
        ("dotdot", vec![(tar::EntryType::Regular, b"../x", None)]),
        (
            "absolute",
            vec![(tar::EntryType::Regular, b"/tmp/ci3-hostile-abs", None)],
        ),
        (
            "symlink-root",
            vec![
                (tar::EntryType::Symlink, b"s", Some(b"/")),
                (tar::EntryType::Regular, b"s/tmp/ci3-hostile-through", None),
            ],
        ),
        (
            "symlink-up",
            vec![
                (tar::EntryType::Symlink, b"a", Some(b"../..")),
                (tar::EntryType::Regular, b"a/x", None),
            ],
        ),
        (
            "hardlink-out",
            vec![(tar::EntryType::Link, b"h", Some(b"/etc/passwd"))],
        ),
        ("device", vec![(tar::EntryType::Char, b"dev", None)]),
        ("fifo", vec![(tar::EntryType::Fifo, b"fifo", None)]),
    ];
    for (case, entries) in cases {
        let name = format!("hostile-{case}.tar.gz");
        hostile_archive(&store.path().join(&name), |b| {
            b.append(
                &raw_entry(tar::EntryType::Regular, b"ok.txt", None, b"fine\n").0,
                &b"fine\n"[..],
            )
            .unwrap();
            for (kind, path, link) in &entries {
                let (h, data) = raw_entry(
                    *kind,
                    path,
                    *link,
                    if *kind == tar::EntryType::Regular {
                        b"evil\n"
                    } else {
                        b""
                    },
                );
                b.append(&h, &data[..]).unwrap();
            }
        });
        let out_dir = work.path().join("jail").join(case);
        let down = env.run("cache_download", &[&name, out_dir.to_str().unwrap()]);
        assert_eq!(down.code, 1, "{case}: {}", down.stderr);
        assert!(
            down.stderr.contains("Cache download of") && down.stderr.contains("unsafe"),
            "{case}: {}",
            down.stderr
        );
        assert!(
            !out_dir.join("ok.txt").exists(),
            "{case}: nothing half-extracted"
        );
        assert!(
            !work.path().join("x").exists() && !work.path().join("jail/x").exists(),
            "{case}"
        );
        assert!(
            !Path::new("/tmp/ci3-hostile-abs").exists()
                && !Path::new("/tmp/ci3-hostile-through").exists(),
            "{case}"
        );
    }
}

#[test]
fn corrupt_artifacts_are_refused_and_never_cached() {
    let store = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let local = work.path().join("local");
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path());
    assert_eq!(env.run("cache_upload", &["c.tar.zst", "build"]).code, 0);
    let good = std::fs::read(store.path().join("c.tar.zst")).unwrap();

    let truncated = good[..good.len() / 2].to_vec();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    for (case, bytes) in [("truncated", truncated), ("bit-flipped", flipped)] {
        std::fs::write(store.path().join("c.tar.zst"), &bytes).unwrap();
        let out_dir = work.path().join(format!("out-{case}"));
        std::fs::create_dir_all(&out_dir).unwrap();
        std::fs::write(out_dir.join("existing.txt"), "keep").unwrap();
        let with_local = Env::new(Where::Dir(store.path().to_path_buf()), work.path())
            .var("CACHE_LOCAL_DIR", local.to_str().unwrap());
        let down = with_local.run("cache_download", &["c.tar.zst", out_dir.to_str().unwrap()]);
        assert_eq!(down.code, 1, "{case}");
        assert!(down.stderr.contains("corrupt"), "{case}: {}", down.stderr);
        let left: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["existing.txt"], "{case}: OUT_DIR untouched");
        let cached: Vec<_> = std::fs::read_dir(&local).unwrap().collect();
        assert!(cached.is_empty(), "{case}: no copy in the local cache");
    }

    // A corrupt local copy is dropped and the good remote one used.
    std::fs::write(store.path().join("c.tar.zst"), &good).unwrap();
    let mut bad = good.clone();
    bad[mid] ^= 1;
    std::fs::write(local.join("c.tar.zst"), &bad).unwrap();
    let with_local = Env::new(Where::Dir(store.path().to_path_buf()), work.path())
        .var("CACHE_LOCAL_DIR", local.to_str().unwrap());
    let down = with_local.run("cache_download", &["c.tar.zst", "healed"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(std::fs::read(local.join("c.tar.zst")).unwrap(), good);
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

#[test]
fn gnu_tar_reads_ours_and_we_read_gnu_tars() {
    let store = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let built = make_tree(work.path());
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path());
    assert_eq!(env.run("cache_upload", &["ours.tar.gz", "build"]).code, 0);
    assert_eq!(env.run("cache_upload", &["ours.tar.zst", "build"]).code, 0);
    let gz = work.path().join("gnu-gz");
    std::fs::create_dir_all(&gz).unwrap();
    let out = run(command("tar")
        .arg("-xzf")
        .arg(store.path().join("ours.tar.gz"))
        .arg("-C")
        .arg(&gz));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(snapshot(&gz.join("build")), snapshot(&built));
    let zst = work.path().join("gnu-zst");
    std::fs::create_dir_all(&zst).unwrap();
    let script = format!(
        "zstd -dc {} | tar -x -C {}",
        store.path().join("ours.tar.zst").display(),
        zst.display()
    );
    assert_eq!(run(command("bash").args(["-c", &script])).code, 0);
    assert_eq!(snapshot(&zst.join("build")), snapshot(&built));

    let script = format!(
        "cd {} && tar -czf {}/gnu.tar.gz build && tar -c build | zstd -q -T0 > {}/gnu.tar.zst",
        work.path().display(),
        store.path().display(),
        store.path().display()
    );
    assert_eq!(run(command("bash").args(["-c", &script])).code, 0);
    for name in ["gnu.tar.gz", "gnu.tar.zst"] {
        let dest = work.path().join(format!("from-{name}"));
        let down = env.run("cache_download", &[name, dest.to_str().unwrap()]);
        assert_eq!(down.code, 0, "{name}: {}", down.stderr);
        assert_eq!(snapshot(&dest.join("build")), snapshot(&built), "{name}");
    }
}

#[test]
fn manifests_explain_what_changed() {
    let repo = common::Repo::new();
    repo.write("proj/src/a.c", "a\n");
    repo.write("proj/src/b.c", "b\n");
    repo.write("proj/src/gone.c", "gone\n");
    repo.write("proj/run.sh", "run\n");
    repo.commit_all("v1");
    let store = tempfile::tempdir().unwrap();
    let cache_home = tempfile::tempdir().unwrap();
    let env = Env::new(Where::Dir(store.path().to_path_buf()), repo.path())
        .var("XDG_CACHE_HOME", cache_home.path().to_str().unwrap());
    let hash = |env: &Env| {
        let out = run(&mut env.cmd_any(env!("CARGO_BIN_EXE_cache_content_hash"), &["^proj/"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.line().to_string()
    };
    let v1 = format!("proj-{}.tar.gz", hash(&env));
    assert_eq!(env.run("cache_upload", &[&v1, "proj/src"]).code, 0);
    let manifest = store.path().join(format!(".ci3/manifest/{v1}.json"));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(stored["patterns"], serde_json::json!(["^proj/"]));
    assert_eq!(stored["entries"].as_array().unwrap().len(), 4);

    repo.write("proj/src/b.c", "b changed\n");
    repo.write("proj/src/new.c", "new\n");
    std::fs::remove_file(repo.join("proj/src/gone.c")).unwrap();
    std::fs::set_permissions(
        repo.join("proj/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    repo.commit_all("v2");
    let v2 = format!("proj-{}.tar.gz", hash(&env));
    assert_ne!(v1, v2);

    let out = run(&mut env.cmd_any(env!("CARGO_BIN_EXE_rebuild_needed"), &["--explain", &v2]));
    assert_eq!(out.code, 0, "rebuild needed: {}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains(&format!("Changed inputs since {v1}: 4")),
        "{}",
        out.stderr
    );
    for line in [
        "M proj/src/b.c",
        "+ proj/src/new.c",
        "- proj/src/gone.c",
        "T proj/run.sh (100644 -> 100755)",
    ] {
        assert!(
            out.stderr.lines().any(|l| l == line),
            "{line} in {}",
            out.stderr
        );
    }
    let out = run(&mut env.cmd_any(
        env!("CARGO_BIN_EXE_content_hash"),
        &["--explain", &v1, "^proj/"],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "T proj/run.sh (100644 -> 100755)\nM proj/src/b.c\n- proj/src/gone.c\n+ proj/src/new.c\n"
    );

    // Without a manifest there is nothing to compare with, and the tools say so.
    let out = run(&mut env.cmd_any(
        env!("CARGO_BIN_EXE_content_hash"),
        &["--explain", "other-0123456789abcdef.tar.gz", "^proj/"],
    ));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no input manifest stored for other-0123456789abcdef.tar.gz"),
        "{}",
        out.stderr
    );
}

/// Stored manifests are signed; a reader with trusted keys is not sent after the wrong files by
/// one a writer without the key put in their place.
#[test]
fn a_forged_manifest_explains_nothing_to_a_checking_reader() {
    let repo = common::Repo::new();
    repo.write("proj/a.c", "a\n");
    repo.commit_all("v1");
    let store = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let keygen = run(command(env!("CARGO_BIN_EXE_cache_keygen")).arg(keys.path()));
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    let at = || Where::Dir(store.path().to_path_buf());
    let writer_home = tempfile::tempdir().unwrap();
    let writer = Env::new(at(), repo.path())
        .var("XDG_CACHE_HOME", writer_home.path().to_str().unwrap())
        .var(
            "CI3_SIGNING_KEY",
            keys.path().join("ci3-signing.key").to_str().unwrap(),
        );
    let hash = run(&mut writer.cmd_any(env!("CARGO_BIN_EXE_cache_content_hash"), &["^proj/"]));
    let v1 = format!("proj-{}.tar.gz", hash.line());
    assert_eq!(writer.run("cache_upload", &[&v1, "proj"]).code, 0);
    let manifest = store.path().join(format!(".ci3/manifest/{v1}.json"));
    let signed = std::fs::read_to_string(&manifest).unwrap();
    assert!(signed.contains("\nci3-signature:"), "{signed}");

    repo.write("proj/a.c", "a changed\n");
    repo.commit_all("v2");
    // Another machine: nothing remembered locally, only what the store holds.
    let reader_home = tempfile::tempdir().unwrap();
    let reader = Env::new(at(), repo.path())
        .var("XDG_CACHE_HOME", reader_home.path().to_str().unwrap())
        .var("CI3_TRUSTED_KEYS", keygen.line());
    let explain = |env: &Env| {
        run(&mut env.cmd_any(
            env!("CARGO_BIN_EXE_content_hash"),
            &["--explain", &v1, "^proj/"],
        ))
    };
    let out = explain(&reader);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "M proj/a.c\n"),
        "{}",
        out.stderr
    );

    let forged = signed.split("\nci3-signature:").next().unwrap();
    std::fs::write(&manifest, forged.replace("proj/a.c", "proj/innocent.c")).unwrap();
    let out = explain(&reader);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("untrusted (unsigned)"),
        "{}",
        out.stderr
    );
    let v2 = format!(
        "proj-{}.tar.gz",
        run(&mut reader.cmd_any(env!("CARGO_BIN_EXE_cache_content_hash"), &["^proj/"])).line()
    );
    let out = run(&mut reader.cmd_any(env!("CARGO_BIN_EXE_rebuild_needed"), &["--explain", &v2]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("No earlier build of this project with an input manifest"),
        "{}",
        out.stderr
    );
    // A reader that checks no keys still reads it, as before signing.
    let plain =
        Env::new(at(), repo.path()).var("XDG_CACHE_HOME", reader_home.path().to_str().unwrap());
    assert_eq!(explain(&plain).stdout, "+ proj/a.c\n- proj/innocent.c\n");
}

/// The ledger behind `cache_stats`: a miss, the upload of the same name (a timed build), then a
/// hit, which spared that build's time.
#[test]
fn cache_stats_counts_hits_misses_and_the_build_a_hit_spared() {
    let work = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path())
        .var("XDG_CACHE_HOME", work.path().join("xdg").to_str().unwrap());
    let stats = |args: &[&str]| {
        let out = run(&mut env.cmd_any(env!("CARGO_BIN_EXE_cache_stats"), args));
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    let empty: serde_json::Value = serde_json::from_str(&stats(&["--json"])).unwrap();
    assert_eq!(empty["hit_rate"], serde_json::Value::Null);
    let name = "proj-0123456789abcdef.tar.gz";
    let other = "proj-fedcba9876543210.tar.gz";
    assert_eq!(env.run("cache_download", &[name, "out"]).code, 1);
    assert_eq!(env.run("cache_upload", &[name, "build"]).code, 0);
    assert_eq!(env.run("cache_download", &[name, "out"]).code, 0);
    assert_eq!(env.run("cache_upload", &[other, "build"]).code, 0);
    assert_eq!(env.run("cache_download", &[other, "out2"]).code, 0);
    let s: serde_json::Value = serde_json::from_str(&stats(&["--json"])).unwrap();
    assert_eq!(s["misses"], 1, "{s}");
    assert_eq!(s["hits_store"], 2, "{s}");
    assert_eq!(s["stored"], 2, "{s}");
    assert_eq!(
        s["builds"], 1,
        "only the upload after a miss is a build: {s}"
    );
    assert_eq!(s["hit_rate"], 2.0 * 100.0 / 3.0, "{s}");
    assert_eq!(
        s["hits_estimated"], 2,
        "both hits are of the project built: {s}"
    );
    assert_eq!(
        s["saved_ms"].as_u64().unwrap(),
        2 * s["build_ms"].as_u64().unwrap(),
        "{s}"
    );
    let text = stats(&[]);
    assert!(
        text.starts_with(
            "downloads:  3 (hits 2: 0 local cache, 2 store; misses 1), hit rate 66.7%\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("uploads:    2 stored, 0 local only, 0 failed\n"),
        "{text}"
    );
    let later: serde_json::Value =
        serde_json::from_str(&stats(&["--json", "--since", "2999-01-01"])).unwrap();
    assert_eq!(later["misses"], 0, "{later}");
}

#[test]
fn unarchivable_outputs_store_nothing() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // 20 MB of incompressible bytes and a FIFO, which the archiver refuses.
    let noise: Vec<u8> = (0..20_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(out.join("a_big.bin"), noise).unwrap();
    let fifo = std::ffi::CString::new(out.join("z_fifo").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc_mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let at = s3_prefix("midway");
    let env = Env::new(at.clone(), work.path()).var("CI", "1");
    let up = env.run("cache_upload", &["midway.tar.zst", "out"]);
    assert_eq!(
        up.code, 0,
        "a build never fails because its outputs cannot be cached"
    );
    assert!(
        up.stderr.contains("Cache upload of midway.tar.zst failed."),
        "{}",
        up.stderr
    );
    assert_eq!(
        env.run("cache_exists", &["midway.tar.zst"]).code,
        1,
        "no truncated object"
    );

    // A symlink out of the tree cannot be restored safely, so it is not stored either.
    let work2 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work2.path().join("out")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", work2.path().join("out/escape")).unwrap();
    let env = Env::new(at, work2.path()).var("CI", "1");
    let up = env.run("cache_upload", &["escape.tar.gz", "out"]);
    assert_eq!(up.code, 0);
    assert!(
        up.stderr.contains("Cache upload of escape.tar.gz failed."),
        "{}",
        up.stderr
    );
    assert_eq!(env.run("cache_exists", &["escape.tar.gz"]).code, 1);
}

extern "C" {
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
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
            "Cache download of pub-missing.tar.gz failed. Not in public http://127.0.0.1:"
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
