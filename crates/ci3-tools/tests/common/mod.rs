//! Shared test fixtures: real git repositories in temp dirs and a runner for the tools.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod cache;
pub mod docker;
pub mod exe;
pub mod helpers;
pub mod http_stub;
pub mod pipeline;
pub mod server;
pub mod tasks;

/// Variables a developer's or CI's environment may set that would change what the tools do.
const ISOLATED_VARS: &[&str] = &[
    "CI",
    "PLATFORM_TAG",
    "AZTEC_CACHE_COMMIT",
    "REPO_PATH",
    "NO_CACHE",
    "NO_CACHE_UPLOAD",
    "CACHE_LOCAL_DIR",
    "S3_FORCE_UPLOAD",
    "CI3_STORE",
    "CI3_PUBLIC_CACHE_URL",
    // A ci3 server chosen by a developer's environment would be every test's store.
    "CI3_SERVER",
    "CI3_SERVER_TOKEN",
    "CI3_PASSWORD",
    "CI3_USER",
    // test_source (through ci3/source) exports these: `root` would be kept by a nested
    // `source ci3/source`, and the S3 ones would select S3 over the default store.
    "root",
    "CI3_S3_BUCKET",
    "CI3_S3_PREFIX",
    "S3_BUILD_CACHE_AWS_PARAMS",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
];

/// A variable `test_source` exports for the S3 server (its endpoint, bucket and credentials).
pub fn s3_var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with `bash ci3/run_tests`"))
}

/// A command with the test isolation applied: no CI variables, no user or system git config.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    with_default_signals(&mut cmd);
    for var in ISOLATED_VARS {
        cmd.env_remove(var);
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    // The tools keep manifests and the default store under $XDG_CACHE_HOME: never the
    // developer's own.
    cmd.env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join(format!("ci3-tests-{}", std::process::id())),
    );
    cmd
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn line(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.stdin(Stdio::null()).output().expect("spawn");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "t"]);
        repo.git(&["config", "user.email", "t@t"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo.git(&["config", "protocol.file.allow", "always"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: impl AsRef<Path>, content: &str) {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(self.path(), args)
    }

    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = run(command("git").current_dir(dir).args(args));
        assert_eq!(out.code, 0, "git {args:?} failed: {}", out.stderr);
        out.stdout
    }

    pub fn commit_all(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }

    /// The original algorithm done with git plumbing: `git ls-tree -r -z`, the paths filtered
    /// by `grep -zE`, the ids sorted, `git hash-object --stdin`, then `hash_str "C-P"`.
    pub fn reference_key(&self, treeish: &str, patterns: &[&str], platform: &str) -> String {
        reference_key(self.path(), treeish, patterns, platform)
    }
}

pub fn reference_key(dir: &Path, treeish: &str, patterns: &[&str], platform: &str) -> String {
    let listing = command("git")
        .current_dir(dir)
        .args(["ls-tree", "-r", "-z", treeish])
        .output()
        .unwrap();
    assert!(listing.status.success());
    let records: Vec<(&[u8], &[u8])> = listing
        .stdout
        .split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let tab = r.iter().position(|&b| b == b'\t').unwrap();
            let id = r[..tab].rsplit(|&b| b == b' ').next().unwrap();
            (id, &r[tab + 1..])
        })
        .collect();
    let mut grep = command("grep");
    grep.arg("-zE");
    for p in patterns {
        grep.arg("-e").arg(p);
    }
    let mut child = grep
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = Vec::new();
    for (_, path) in &records {
        input.extend_from_slice(path);
        input.push(0);
    }
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&input).unwrap();
    }
    let matched = child.wait_with_output().unwrap().stdout;
    let matched: std::collections::HashSet<&[u8]> = matched
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .collect();
    let mut ids: Vec<String> = records
        .iter()
        .filter(|(_, path)| matched.contains(path))
        .map(|(id, _)| String::from_utf8(id.to_vec()).unwrap())
        .collect();
    assert!(!ids.is_empty(), "reference: nothing matched {patterns:?}");
    ids.sort();
    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
    let content = hash_object(text.as_bytes());
    hash_object(format!("{}-{platform}\n", &content[..16]).as_bytes())[..16].to_string()
}

/// Writes `input` to the child's stdin and closes it. A tool that stops before reading it (a
/// usage error, a pattern file that cannot be right) closes its end first: that broken pipe is
/// part of its answer, not a failure of the test.
pub fn feed(child: &mut std::process::Child, input: &[u8]) {
    use std::io::Write;
    if let Err(err) = child.stdin.take().expect("stdin piped").write_all(input) {
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
    }
}

/// `git hash-object --stdin` of `data`.
pub fn hash_object(data: &[u8]) -> String {
    let mut child = command("git")
        .args(["hash-object", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A path from raw bytes (for names git can store but Rust string literals make awkward).
pub fn os(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// The repository's `ci3/` folder (the toolbox scripts source).
pub fn toolbox() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../ci3")
        .canonicalize()
        .unwrap()
}

/// Runs `script` as a file in `dir` with bash, without the variables `remove`; the script can
/// say `source "$CI3"`.
pub fn bash_script(dir: &Path, script: &str, env: &[(&str, &str)], remove: &[&str]) -> Output {
    let file = dir.join("script.sh");
    std::fs::write(&file, script).unwrap();
    let mut cmd = command("bash");
    cmd.arg(&file)
        .current_dir(std::env::temp_dir())
        .env("CI3", toolbox().join("source"));
    for var in remove {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// Runs `cmd` with SIGINT and SIGQUIT at their default, as from a terminal: a test run started in
/// the background of a non-interactive shell (`cmd &` in a script) inherits them ignored, and a
/// tool whose Ctrl-C handling is under test would then never see one.
pub fn with_default_signals(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, the only kind of call allowed between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
}
