//! Signed artifacts and flags, trusted keys and read-only tiers: an untrusted writer with bucket
//! credentials cannot poison what a reader with `CI3_TRUSTED_KEYS` restores, on the S3 server
//! `test_source` starts (run with `bash ci3/run_tests`), and a pull-request tier stays its own.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::exe::exe;
use common::{command, run, s3_var, Output};

/// The S3 store of `test_source` under `prefix`, as a `CI3_STORE` URL.
fn s3_url(prefix: &str) -> String {
    format!(
        "s3://{}/{prefix}-{}/",
        s3_var("CI3_S3_BUCKET"),
        std::process::id()
    )
}

/// One job: a working directory, its store, and the variables it runs with.
struct Job {
    cwd: PathBuf,
    vars: Vec<(String, String)>,
}

impl Job {
    fn new(cwd: &Path, store: &str) -> Job {
        Job {
            cwd: cwd.to_path_buf(),
            vars: vec![
                ("CI3_STORE".into(), store.into()),
                (
                    "XDG_CACHE_HOME".into(),
                    cwd.join("xdg").display().to_string(),
                ),
            ],
        }
    }

    fn var(mut self, k: &str, v: impl Into<String>) -> Job {
        self.vars.push((k.into(), v.into()));
        self
    }

    fn cmd(&self, tool: &str, args: &[&str]) -> Command {
        let mut cmd = command(exe(tool));
        cmd.current_dir(&self.cwd).args(args);
        for var in [
            "CI3_S3_PREFIX",
            "S3_BUILD_CACHE_AWS_PARAMS",
            "CI3_SIGNING_KEY",
            "CI3_TRUSTED_KEYS",
            "CI3_READ_STORES",
        ] {
            cmd.env_remove(var);
        }
        if let Ok(endpoint) = std::env::var("CI3_S3_ENDPOINT") {
            cmd.env("CI3_S3_ENDPOINT", endpoint);
        }
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        run(&mut self.cmd(tool, args))
    }
}

/// A key pair made by `cache_keygen` in `dir`: (private key file, public key line, key id).
fn keygen(dir: &Path) -> (PathBuf, String, String) {
    let out = run(command(exe("cache_keygen")).arg(dir));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let public = out.line().to_string();
    assert!(public.starts_with("ed25519:") && !public.contains('\n'));
    let id = out
        .stderr
        .split_whitespace()
        .nth(2)
        .expect("cache_keygen: key ID written")
        .to_string();
    assert_eq!(id.len(), 16, "{}", out.stderr);
    (dir.join("ci3-signing.key"), public, id)
}

/// A build output with `content` in it.
fn build(cwd: &Path, content: &str) {
    let out = cwd.join("build");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(out.join("bin")).unwrap();
    fs::write(out.join("bin/app"), content).unwrap();
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn keygen_keeps_the_private_key_private_and_never_replaces_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (secret, public, _) = keygen(&tmp.path().join("keys"));
    let mode = fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        fs::read_to_string(tmp.path().join("keys/ci3-signing.pub")).unwrap(),
        format!("{public}\n")
    );
    let again = run(command(exe("cache_keygen")).arg(tmp.path().join("keys")));
    assert_eq!(again.code, 1);
    assert_eq!(again.stdout, "");
}

#[test]
fn keys_and_tiers_that_cannot_be_right_exit_2_naming_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("file://{}", tmp.path().join("store").display());
    let cases = [
        ("CI3_TRUSTED_KEYS", "ed25519:nothex".to_string()),
        ("CI3_TRUSTED_KEYS", "/nonexistent/keys".to_string()),
        ("CI3_SIGNING_KEY", "/nonexistent/key".to_string()),
        ("CI3_READ_STORES", "file:///ok bogus://x".to_string()),
    ];
    for (var, value) in cases {
        for (tool, args) in [
            ("cache_download", &["app-H.zst", "out"][..]),
            ("cache_upload", &["app-H.zst", "build"]),
            ("cache_verify", &["app-H.zst"]),
            ("cache_upload_flag", &["tests-H"]),
        ] {
            let out = Job::new(tmp.path(), &store)
                .var(var, value.clone())
                .run(tool, args);
            assert_eq!(out.code, 2, "{tool} {var}={value}: {}", out.stderr);
            assert!(
                out.stderr.contains(&format!("{var}={value}: ")),
                "{tool}: {}",
                out.stderr
            );
        }
    }
}

/// The poisoning scenario: a trusted writer uploads app-H.zst; an untrusted writer with the
/// bucket's credentials overwrites it with a different tree; a reader with CI3_TRUSTED_KEYS
/// refuses it, and OUT_DIR and its local cache stay as they were.
#[test]
fn an_untrusted_overwrite_is_refused_not_extracted_nor_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, id) = keygen(&tmp.path().join("main-key"));
    let (foreign_key, _, foreign_id) = keygen(&tmp.path().join("attacker-key"));
    let store = s3_url("trust-poison");
    let ci = |job: Job| job.var("CI", "1");

    fs::create_dir_all(tmp.path().join("main")).unwrap();
    build(&tmp.path().join("main"), "genuine\n");
    let main = ci(Job::new(&tmp.path().join("main"), &store))
        .var("CI3_SIGNING_KEY", key.display().to_string());
    let up = main.run("cache_upload", &["app-H.zst", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);

    let reader_dir = tmp.path().join("reader");
    fs::create_dir_all(reader_dir.join("out")).unwrap();
    fs::write(reader_dir.join("out/before"), "mine\n").unwrap();
    let reader = Job::new(&reader_dir, &store)
        .var("CI3_TRUSTED_KEYS", public.clone())
        .var(
            "CACHE_LOCAL_DIR",
            reader_dir.join("local").display().to_string(),
        );
    let verified = reader.run("cache_verify", &["app-H.zst"]);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    assert!(
        verified.stdout.contains(&format!("signed by {id}"))
            && verified.stdout.ends_with("trusted\n"),
        "{}",
        verified.stdout
    );

    for (attacker, expected) in [
        (None, "untrusted (unsigned)".to_string()),
        (
            Some(&foreign_key),
            format!("untrusted (signed by {foreign_id})"),
        ),
    ] {
        let evil_dir = tmp.path().join("evil");
        fs::create_dir_all(&evil_dir).unwrap();
        build(&evil_dir, "poisoned\n");
        let mut evil = Job::new(&evil_dir, &store).var("S3_FORCE_UPLOAD", "1");
        if let Some(k) = attacker {
            evil = evil.var("CI3_SIGNING_KEY", k.display().to_string());
        }
        let up = evil.run("cache_upload", &["app-H.zst", "build"]);
        assert_eq!(up.code, 0, "{}", up.stderr);

        let down = reader.run("cache_download", &["app-H.zst", "out"]);
        assert_eq!(down.code, 1, "{}", down.stderr);
        assert!(
            down.stderr.contains(&expected),
            "{expected}: {}",
            down.stderr
        );
        assert_eq!(
            listing(&reader_dir.join("out")),
            ["before"],
            "OUT_DIR untouched"
        );
        assert_eq!(
            fs::read_to_string(reader_dir.join("out/before")).unwrap(),
            "mine\n"
        );
        assert!(
            !reader_dir.join("local/app-H.zst").exists(),
            "never kept in the local cache"
        );
        let verified = reader.run("cache_verify", &["app-H.zst"]);
        assert_eq!(verified.code, 1);
        assert!(verified.stdout.contains("untrusted"), "{}", verified.stdout);

        // Without CI3_TRUSTED_KEYS nothing changes: the same object is restored as before.
        let plain_dir = tmp.path().join("plain");
        let _ = fs::remove_dir_all(&plain_dir);
        fs::create_dir_all(&plain_dir).unwrap();
        let plain = Job::new(&plain_dir, &store).run("cache_download", &["app-H.zst", "out"]);
        assert_eq!(plain.code, 0, "{}", plain.stderr);
        assert_eq!(
            fs::read_to_string(plain_dir.join("out/build/bin/app")).unwrap(),
            "poisoned\n"
        );
    }

    // The trusted writer (checking too) replaces what its readers refuse, without being forced.
    let up = main
        .var("CI3_TRUSTED_KEYS", public.clone())
        .run("cache_upload", &["app-H.zst", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(
        up.stderr.contains("Replacing app-H.zst in ") && up.stderr.contains("untrusted (signed by"),
        "{}",
        up.stderr
    );
    let down = reader.run("cache_download", &["app-H.zst", "out"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(
        fs::read_to_string(reader_dir.join("out/build/bin/app")).unwrap(),
        "genuine\n"
    );
    assert!(reader_dir.join("local/app-H.zst").exists());
}

#[test]
fn a_forged_flag_is_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, _) = keygen(&tmp.path().join("main-key"));
    let store = s3_url("trust-flag");
    let main = Job::new(tmp.path(), &store)
        .var("CI", "1")
        .var("CI3_SIGNING_KEY", key.display().to_string());
    let reader = Job::new(tmp.path(), &store)
        .var("CI", "1")
        .var("CI3_TRUSTED_KEYS", public);

    assert_eq!(main.run("cache_upload_flag", &["tests-H"]).code, 0);
    assert_eq!(reader.run("cache_download_flag", &["tests-H"]).code, 0);
    let should = reader.run("test_should_run", &["tests-H"]);
    assert_eq!(should.code, 1, "passed: skip. {}", should.stderr);
    assert_eq!(reader.run("cache_verify", &["tests-H.flag"]).code, 0);

    // A CI job with bucket credentials but no key records "passed" for a test that never ran.
    let forger = Job::new(tmp.path(), &store).var("CI", "1");
    assert_eq!(forger.run("cache_upload_flag", &["tests-H"]).code, 0);
    let flag = reader.run("cache_download_flag", &["tests-H"]);
    assert_eq!(flag.code, 1);
    assert!(
        flag.stderr.contains("untrusted (unsigned)"),
        "{}",
        flag.stderr
    );
    let should = reader.run("test_should_run", &["tests-H"]);
    assert_eq!(should.code, 0, "must run: {}", should.stderr);
    let verified = reader.run("cache_verify", &["tests-H.flag"]);
    assert_eq!(verified.code, 1);
    assert!(
        verified.stdout.contains("unsigned: untrusted"),
        "{}",
        verified.stdout
    );
    // Readers that trust nobody in particular still see the flag, as before.
    assert_eq!(
        Job::new(tmp.path(), &store)
            .var("CI", "1")
            .run("cache_download_flag", &["tests-H"])
            .code,
        0
    );
}

/// The test cache: a pass recorded by the signing main job skips the test for a checking reader;
/// one a job without the key recorded does not.
#[test]
fn a_forged_test_cache_entry_is_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, _) = keygen(&tmp.path().join("main-key"));
    let store = s3_url("trust-tests");
    let root = tmp.path().display().to_string();
    let main = Job::new(tmp.path(), &store)
        .var("CI", "1")
        .var("root", root.clone())
        .var("CI3_SIGNING_KEY", key.display().to_string());
    let forger = Job::new(tmp.path(), &store)
        .var("CI", "1")
        .var("root", root.clone());
    let reader = Job::new(tmp.path(), &store)
        .var("CI", "1")
        .var("root", root)
        .var("CI3_TRUSTED_KEYS", public);
    let signed = "0123456789abcdef true";
    let forged = "fedcba9876543210 true";
    assert_eq!(main.run("run_test_cmd", &[signed]).code, 0);
    // A job with bucket credentials but no key records a pass for a test that never passed.
    assert_eq!(forger.run("run_test_cmd", &[forged]).code, 0);

    let lines = format!("{signed}\n{forged}\n");
    let mut child = reader
        .cmd("filter_test_cmds", &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!("{forged}\n"),
        "only the forged pass runs again: {stderr}"
    );
    assert!(stderr.contains(&format!("SKIPPED: {signed}")), "{stderr}");
    assert!(stderr.contains("untrusted (unsigned)"), "{stderr}");
}

/// A pull-request job reads the main branch's tier, writes only its own; the main branch never
/// sees the pull request's writes.
#[test]
fn a_pull_request_tier_reads_main_and_writes_only_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, _) = keygen(&tmp.path().join("main-key"));
    let main_tier = s3_url("trust-main");
    let pr_tier = s3_url("trust-pr-7");
    for dir in ["main", "pr", "main-later"] {
        fs::create_dir_all(tmp.path().join(dir)).unwrap();
    }
    let main = Job::new(&tmp.path().join("main"), &main_tier)
        .var("CI", "1")
        .var("CI3_SIGNING_KEY", key.display().to_string())
        .var("CI3_TRUSTED_KEYS", public.clone());
    build(&tmp.path().join("main"), "lib from main\n");
    assert_eq!(main.run("cache_upload", &["lib-H.zst", "build"]).code, 0);

    let pr = Job::new(&tmp.path().join("pr"), &pr_tier)
        .var("CI", "1")
        .var("CI3_READ_STORES", main_tier.clone())
        .var("CI3_TRUSTED_KEYS", public.clone());
    let hit = pr.run("cache_download", &["lib-H.zst", "restored"]);
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert_eq!(
        fs::read_to_string(tmp.path().join("pr/restored/build/bin/app")).unwrap(),
        "lib from main\n"
    );
    build(&tmp.path().join("pr"), "app from a pull request\n");
    let up = pr.run("cache_upload", &["app-P.zst", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(!up.stderr.contains("read-only"), "{}", up.stderr);
    // Its own tier has it; the main tier does not.
    assert_eq!(
        Job::new(tmp.path(), &pr_tier)
            .run("cache_exists", &["app-P.zst"])
            .code,
        0
    );

    // The pull request's own unsigned copy of a name does not hide main's signed one.
    let own = pr.run("cache_upload", &["shared-H.zst", "build"]);
    assert_eq!(own.code, 0, "{}", own.stderr);
    build(&tmp.path().join("main"), "shared from main\n");
    assert_eq!(main.run("cache_upload", &["shared-H.zst", "build"]).code, 0);
    let hit = pr.run("cache_download", &["shared-H.zst", "shared"]);
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert!(
        hit.stderr.contains("untrusted (unsigned)"),
        "{}",
        hit.stderr
    );
    assert!(
        hit.stderr.contains("trying the next store"),
        "{}",
        hit.stderr
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("pr/shared/build/bin/app")).unwrap(),
        "shared from main\n"
    );

    let later = Job::new(&tmp.path().join("main-later"), &main_tier)
        .var("CI", "1")
        .var("CI3_TRUSTED_KEYS", public);
    assert_eq!(later.run("cache_exists", &["app-P.zst"]).code, 1);
    let miss = later.run("cache_download", &["app-P.zst", "out"]);
    assert_eq!(miss.code, 1, "{}", miss.stderr);
    assert!(!tmp.path().join("main-later/out").exists());
}

/// A signed artifact is still an ordinary archive for GNU tar, gzip and zstd, and an unsigned one
/// from before still restores where nothing is checked.
#[test]
fn signed_artifacts_stay_readable_by_the_original_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public, _) = keygen(&tmp.path().join("key"));
    let store_dir = tmp.path().join("store");
    let store = format!("file://{}", store_dir.display());
    build(tmp.path(), "signed\n");
    let writer = Job::new(tmp.path(), &store).var("CI3_SIGNING_KEY", key.display().to_string());
    for name in ["app-H.tar.gz", "app-H.zst"] {
        assert_eq!(writer.run("cache_upload", &[name, "build"]).code, 0);
        let out = tmp.path().join(format!("gnu-{name}"));
        fs::create_dir_all(&out).unwrap();
        let script = if name.ends_with(".zst") {
            format!(
                "zstd -q -d -c {0} | tar -x -C {1}",
                store_dir.join(name).display(),
                out.display()
            )
        } else {
            format!(
                "gzip -d -c {0} | tar -x -C {1} && tar -xzf {0} -C {1}",
                store_dir.join(name).display(),
                out.display()
            )
        };
        let gnu = run(command("bash").args(["-c", &format!("set -o pipefail; {script}")]));
        assert_eq!(gnu.code, 0, "{name}: {}", gnu.stderr);
        assert_eq!(
            fs::read_to_string(out.join("build/bin/app")).unwrap(),
            "signed\n"
        );
        let checked = Job::new(tmp.path(), &store)
            .var("CI3_TRUSTED_KEYS", public.clone())
            .run("cache_download", &[name, &format!("ours-{name}")]);
        assert_eq!(checked.code, 0, "{name}: {}", checked.stderr);
    }
}
