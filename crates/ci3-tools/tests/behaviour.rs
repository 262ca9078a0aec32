//! What a new user meets first: `--help` and `--version` of every tool, a store configuration
//! that cannot be right, and failures that name their cause and their place.

mod common;

use std::path::Path;
use std::process::Command;

use common::exe::{exe, TOOLS};
use common::{command, run, Output, Repo};

/// The five executables whose arguments are data or a command: `--help` is theirs to pass on.
const DATA_TOOLS: &[&str] = &["denoise", "dump_fail", "echo_header", "hash_str", "retry"];

/// A tool run in `dir` with the directory store under `dir/store`.
fn tool(name: &str, dir: &Path) -> Command {
    let mut cmd = command(exe(name));
    cmd.current_dir(dir).env(
        "CI3_STORE",
        format!("file://{}", dir.join("store").display()),
    );
    cmd
}

#[test]
fn every_tool_answers_help_and_version_on_stdout() {
    for name in TOOLS.iter().filter(|t| !DATA_TOOLS.contains(t)) {
        let path = exe(name);
        let help = run(command(path).arg("--help"));
        assert_eq!(help.code, 0, "{name} --help: {}", help.stderr);
        assert_eq!(help.stderr, "", "{name} --help");
        assert!(help.stdout.contains("Usage:"), "{name}: {}", help.stdout);
        assert!(
            help.stdout.contains("Exit status:"),
            "{name}: {}",
            help.stdout
        );
        assert!(
            help.stdout.contains("Environment:"),
            "{name}: {}",
            help.stdout
        );

        let version = run(command(path).arg("--version"));
        assert_eq!(version.code, 0, "{name} --version: {}", version.stderr);
        let expected_name = if *name == "parallelise" {
            "parallelize"
        } else {
            name
        };
        // baur's says it in cobra's words, which scripts written for baur read.
        let expected = if *name == "baur" {
            format!(
                "baur version {} (ci3: baur's command line run by ci3's task tools)\n",
                env!("CARGO_PKG_VERSION")
            )
        } else {
            format!("{expected_name} {}\n", env!("CARGO_PKG_VERSION"))
        };
        assert_eq!(version.stdout, expected, "{name} --version");
    }
}

#[test]
fn data_tools_take_help_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let hash = run(tool("hash_str", dir.path()).arg("--help"));
    assert_eq!(hash.code, 0);
    assert_eq!(
        hash.stdout,
        common::hash_object(b"--help\n")[..16].to_string(),
        "the hash of the word, with no trailing newline"
    );
    let header = run(tool("echo_header", dir.path()).arg("--version"));
    assert_eq!(header.code, 0);
    assert!(
        header.stdout.contains("--- --version ---"),
        "{}",
        header.stdout
    );
}

/// A project directory with a small build output.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("build")).unwrap();
    std::fs::write(dir.path().join("build/out.txt"), "built\n").unwrap();
    dir
}

fn one_line(out: &Output) -> &str {
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    out.stderr.trim_end()
}

#[test]
fn a_store_configuration_that_cannot_be_right_is_exit_2_before_any_work() {
    let dir = project();
    let local = dir.path().join("local");
    for (value, says) in [
        ("bogus://x", "CI3_STORE=bogus://x: unsupported store URL"),
        (
            "file://relative/dir",
            "CI3_STORE=file://relative/dir: a file:// store needs an absolute path",
        ),
    ] {
        let up = run(tool("cache_upload", dir.path())
            .args(["p-1.tar.gz", "build"])
            .env("CI3_STORE", value)
            .env("CACHE_LOCAL_DIR", &local));
        assert_eq!(up.code, 2, "{}", up.stderr);
        assert!(
            one_line(&up).starts_with(&format!("cache_upload: {says}")),
            "{}",
            up.stderr
        );
        assert!(!local.exists(), "no work was done before the refusal");

        let down = run(tool("cache_download", dir.path())
            .args(["p-1.tar.gz", "out"])
            .env("CI3_STORE", value));
        assert_eq!(down.code, 2, "{}", down.stderr);
        assert!(one_line(&down).starts_with(&format!("cache_download: {says}")));
        assert!(!dir.path().join("out").exists());

        for other in [
            "cache_exists",
            "cache_download_flag",
            "cache_ls",
            "cache_delete",
        ] {
            let out = run(tool(other, dir.path())
                .arg("p-1.tar.gz")
                .env("CI3_STORE", value));
            assert_eq!(out.code, 2, "{other}: {}", out.stderr);
            assert!(one_line(&out).contains(says), "{other}: {}", out.stderr);
        }
        // Where exit 0 means "do the work", the same line comes with the safe answer.
        for (other, ci) in [("rebuild_needed", "0"), ("test_should_run", "1")] {
            let out = run(tool(other, dir.path())
                .arg("p-1.tar.gz")
                .env("CI3_STORE", value)
                .env("CI", ci));
            assert_eq!(out.code, 0, "{other}: {}", out.stderr);
            assert!(one_line(&out).contains(says), "{other}: {}", out.stderr);
        }
    }
    let bucket = run(tool("cache_exists", dir.path())
        .arg("x")
        .env_remove("CI3_STORE")
        .env("CI3_S3_BUCKET", "Not_A_Bucket"));
    assert_eq!(bucket.code, 2);
    assert!(
        one_line(&bucket).contains("CI3_S3_BUCKET=Not_A_Bucket: "),
        "{}",
        bucket.stderr
    );
}

#[test]
fn an_output_directory_that_cannot_be_written_is_named_as_such() {
    let dir = project();
    // A few MiB, so that the store is still sending when the extractor gives up.
    let big: Vec<u8> = (0..4_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("build/big.bin"), big).unwrap();
    let up = run(tool("cache_upload", dir.path()).args(["p-2.tar.gz", "build"]));
    assert_eq!(up.code, 0, "{}", up.stderr);

    // /proc refuses new entries even to root; /proc/self/x cannot even be created.
    for (out_dir, says) in [
        ("/proc", "cannot write into the output directory /proc"),
        (
            "/proc/self/ci3-out",
            "cannot create the output directory /proc/self/ci3-out",
        ),
    ] {
        let down = run(tool("cache_download", dir.path()).args(["p-2.tar.gz", out_dir]));
        assert_eq!(down.code, 1, "{}", down.stderr);
        assert!(
            down.stderr.contains("Cache download of p-2.tar.gz failed."),
            "{}",
            down.stderr
        );
        assert!(down.stderr.contains(says), "{}", down.stderr);
        assert!(!down.stderr.contains("store error"), "{}", down.stderr);
        assert!(!down.stderr.contains("Broken pipe"), "{}", down.stderr);
    }
}

#[test]
fn a_missing_pattern_file_is_an_error_saying_so() {
    let repo = Repo::new();
    repo.write("src/a.c", "int a;\n");
    repo.commit_all("init");
    let out = run(tool("cache_content_hash", repo.path()).arg(".rebuild_patterns_typo"));
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    // The original's words first, then what an argument may be and where it was looked for.
    assert_eq!(
        out.stderr,
        format!(
            "cache_content_hash: Error: Directory '.rebuild_patterns_typo' does not exist. \
             Each argument must be a pattern file or a directory relative to the current \
             directory ({}), or a regex starting with ^.\n",
            repo.path().canonicalize().unwrap().display()
        )
    );
}

#[test]
fn an_unreachable_endpoint_names_the_cause_and_the_endpoint() {
    let dir = project();
    let at = |cmd: &mut Command| {
        cmd.env("CI3_STORE", "s3://some-bucket/p")
            .env("CI3_S3_ENDPOINT", "http://127.0.0.1:1")
            .env("AWS_ACCESS_KEY_ID", "k")
            .env("AWS_SECRET_ACCESS_KEY", "s");
    };
    let mut down = tool("cache_download", dir.path());
    down.args(["p-3.tar.gz", "out"]);
    at(&mut down);
    let started = std::time::Instant::now();
    let down = run(&mut down);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "a refused connection is given up on at once: {:?}",
        started.elapsed()
    );
    assert_eq!(down.code, 1);
    assert!(
        down.stderr.contains("connection refused"),
        "{}",
        down.stderr
    );
    assert!(down.stderr.contains("127.0.0.1:1"), "{}", down.stderr);
    assert!(!down.stderr.contains("X-Amz-Signature"), "{}", down.stderr);

    let mut up = tool("cache_upload", dir.path());
    up.args(["p-3.tar.gz", "build"]).env("CI", "1");
    at(&mut up);
    let up = run(&mut up);
    assert_eq!(up.code, 0, "an unreachable store never fails the build");
    assert!(up.stderr.contains("connection refused"), "{}", up.stderr);
    assert!(up.stderr.contains("127.0.0.1:1"), "{}", up.stderr);
}

/// `CI3_OFFLINE=1`: the remote store is never asked (a listening endpoint sees no connection),
/// each tool says so, and the local cache still serves.
#[test]
fn offline_no_request_leaves_and_the_local_cache_serves() {
    let dir = project();
    let endpoint = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", endpoint.local_addr().unwrap());
    let offline = |name: &str, args: &[&str]| {
        let mut cmd = tool(name, dir.path());
        cmd.args(args)
            .env("CI", "1")
            .env("CI3_OFFLINE", "1")
            .env("CI3_STORE", "s3://some-bucket/p")
            .env("CI3_S3_ENDPOINT", &url)
            .env("AWS_ACCESS_KEY_ID", "k")
            .env("AWS_SECRET_ACCESS_KEY", "s")
            .env("CACHE_LOCAL_DIR", dir.path().join("local"))
            .env("XDG_CACHE_HOME", dir.path().join("xdg"));
        run(&mut cmd)
    };
    let up = offline("cache_upload", &["p-5.tar.gz", "build"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(
        up.stderr.contains("not asked: offline (CI3_OFFLINE=1)"),
        "{}",
        up.stderr
    );
    assert!(
        dir.path().join("local/p-5.tar.gz").is_file(),
        "{}",
        up.stderr
    );
    std::fs::remove_dir_all(dir.path().join("build")).unwrap();
    let down = offline("cache_download", &["p-5.tar.gz"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("build/out.txt")).unwrap(),
        "built\n"
    );
    let miss = offline("cache_download", &["p-6.tar.gz"]);
    assert_eq!(miss.code, 1);
    assert!(
        miss.stderr.contains("not asked: offline (CI3_OFFLINE=1)"),
        "{}",
        miss.stderr
    );
    endpoint.set_nonblocking(true).unwrap();
    assert_eq!(
        endpoint.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "no connection reached the endpoint"
    );
}

#[test]
fn the_directory_store_never_says_no_s3_upload_and_ci0_says_how_to_upload() {
    let dir = project();
    let first = run(tool("cache_upload", dir.path()).args(["p-4.tar.gz", "build"]));
    assert_eq!(first.code, 0);
    let again = run(tool("cache_upload", dir.path()).args(["p-4.tar.gz", "build"]));
    // The directory store is no S3: the original's S3-era words, without "S3".
    assert!(
        again
            .stderr
            .contains("Skipping upload, already exists: p-4.tar.gz\n"),
        "{}",
        again.stderr
    );
    assert!(!again.stderr.contains("S3"), "{}", again.stderr);
    assert!(
        !again.stderr.contains("no S3 upload to do"),
        "{}",
        again.stderr
    );

    let s3 = run(tool("cache_upload", dir.path())
        .args(["p-4.tar.gz", "build"])
        .env("CI3_STORE", "s3://some-bucket/p")
        .env("CI3_S3_ENDPOINT", "http://127.0.0.1:1"));
    assert_eq!(s3.code, 0);
    let line = s3
        .stderr
        .lines()
        .find(|l| l.starts_with("Skipping S3 upload because CI=0 and S3_FORCE_UPLOAD not set."))
        .unwrap_or_else(|| panic!("{}", s3.stderr));
    assert!(
        line.contains("Nothing goes to s3://some-bucket/p/ at http://127.0.0.1:1 from here; set S3_FORCE_UPLOAD=1 to upload."),
        "{line}"
    );
}

#[test]
fn a_disabled_cache_key_names_the_dirty_files_outside_ci() {
    let repo = Repo::new();
    for f in ["src/a.c", "src/b.c", "src/c.c", "src/d.c"] {
        repo.write(f, "x\n");
    }
    repo.commit_all("init");
    for f in ["src/a.c", "src/b.c", "src/c.c", "src/d.c"] {
        repo.write(f, "changed\n");
    }
    let out = run(tool("cache_content_hash", repo.path()).arg("^src/"));
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "disabled-cache\n");
    assert_eq!(
        out.stderr,
        "Caching disabled: uncommitted changes to files the key covers: src/a.c, src/b.c, src/c.c, and 1 more\n"
    );
}

/// Runs `shell` under a pseudo-terminal (util-linux `script`), returning what the terminal saw.
fn on_a_terminal(dir: &Path, shell: &str) -> String {
    let out = run(command("script")
        .current_dir(dir)
        .env("SHELL", "/bin/bash")
        // A terminal has a type; without one the bar library takes it for a dumb one.
        .env("TERM", "xterm")
        .args(["-qec", shell, "/dev/null"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.stdout
}

#[test]
fn a_progress_bar_on_a_terminal_only() {
    let dir = project();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    std::fs::write(dir.path().join("build/big.bin"), big).unwrap();
    let store = dir.path().join("store");
    let up = format!(
        "CI3_STORE=file://{} CI3_PROGRESS_AFTER=0 {} p-5.tar.gz build",
        store.display(),
        exe("cache_upload")
    );
    let seen = on_a_terminal(dir.path(), &up);
    assert!(seen.contains("p-5.tar.gz"), "{seen:?}");
    assert!(seen.contains("/s"), "a rate is shown: {seen:?}");

    let plain = run(tool("cache_download", dir.path())
        .args(["p-5.tar.gz", "out"])
        .env("CI3_PROGRESS_AFTER", "0"));
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(
        !plain.stderr.contains("/s"),
        "no bar off a terminal: {}",
        plain.stderr
    );
    assert!(!plain.stderr.contains('\r'), "{:?}", plain.stderr);
}
