//! cache_upload, cache_exists, cache_ls and cache_delete: round trips on the directory store and
//! the S3 server `test_source` starts (`bash ci3/run_tests`), misses, the CI gate, unusable stores.

mod common;

use common::cache::{make_tree, s3_prefix, snapshot, Env, Where};
use common::exe::exe;
use common::s3_var;
use common::{command, run};

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

    // The spec's phrase for S3; the directory store is no S3, and says the original's S3-era words.
    let again = env.run("cache_upload", &[name, "build"]);
    let skipped = match env.at {
        Where::Dir(_) => format!("Skipping upload, already exists: {name}\n"),
        _ => format!("Skipping S3 upload, already exists: {name}\n"),
    };
    assert_eq!(again.code, 0);
    assert!(again.stderr.contains(&skipped), "{}", again.stderr);
    if let Where::Dir(_) = env.at {
        assert!(!again.stderr.contains("S3"), "{}", again.stderr);
    }

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
    // The original's words first, then that a miss is the cache working, not a fault.
    let prefix = s3_var("CI3_TEST_S3_BUCKET");
    assert!(
        miss.stderr.starts_with(
            "Cache download of never-uploaded.tar.gz failed. Cache miss: not in s3://"
        ) && miss.stderr.contains(&prefix)
            && miss
                .stderr
                .ends_with(" (expected for a new key: build it).\n"),
        "{}",
        miss.stderr
    );
    assert_eq!(miss.stderr.lines().count(), 1, "{}", miss.stderr);
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
