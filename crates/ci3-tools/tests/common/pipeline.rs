//! Fixtures of the test pipeline's tests: a project to run test lines in, with a store of its own.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::exe::exe;
use super::s3_var;
use super::{command, Repo};

pub const HASH: &str = "0123456789abcdef";

/// A `.test_patterns.yml` naming an owner of `flaky.sh`: its failures in CI are flakes.
pub const FLAKY_OWNED: &str = r#"names:
  - ann: &ann "U0ANN"
tests:
  - regex: "flaky\\.sh"
    owners:
      - *ann
"#;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn finish(child: std::process::Child) -> Out {
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A repo to run tests in (`root`), with a store of its own: the S3 server's when `s3`, else a
/// directory.
pub struct Project {
    pub repo: Repo,
    pub store_dir: tempfile::TempDir,
    pub envs: Vec<(String, String)>,
}

impl Project {
    pub fn new(s3_tag: Option<&str>) -> Project {
        let repo = Repo::new();
        let store_dir = tempfile::tempdir().unwrap();
        let mut envs = vec![
            ("root".to_string(), repo.path().display().to_string()),
            ("NO_FAIL_FAST".into(), "1".into()),
        ];
        match s3_tag {
            Some(tag) => {
                let url = format!(
                    "s3://{}/pipeline-{}-{tag}/",
                    s3_var("CI3_S3_BUCKET"),
                    std::process::id()
                );
                envs.push(("CI3_STORE".into(), url));
                for name in [
                    "CI3_S3_ENDPOINT",
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                ] {
                    envs.push((name.into(), s3_var(name)));
                }
            }
            None => envs.push((
                "CI3_STORE".into(),
                format!("file://{}", store_dir.path().display()),
            )),
        }
        Project {
            repo,
            store_dir,
            envs,
        }
    }

    pub fn root(&self) -> &Path {
        self.repo.path()
    }

    pub fn cmd(&self, tool: &str, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut cmd = command(exe(tool));
        for var in [
            "USE_TEST_CACHE",
            "CI3_TEST_CACHE_TTL",
            "CPUS",
            "MEM",
            "TIMEOUT",
            "CPU_LIST",
            "JOBLOG",
            "GITHUB_RUN_URL",
        ] {
            cmd.env_remove(var);
        }
        // From elsewhere: the commands must run from `root` all the same.
        cmd.current_dir(std::env::temp_dir())
            .args(args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .envs(envs.iter().copied());
        cmd
    }

    /// `tool args` with `input` on stdin.
    pub fn pipe(&self, tool: &str, args: &[&str], envs: &[(&str, &str)], input: &str) -> Out {
        let mut child = self
            .cmd(tool, args, envs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        super::feed(&mut child, input.as_bytes());
        finish(child)
    }

    pub fn run_test_cmd(&self, line: &str, envs: &[(&str, &str)]) -> Out {
        let child = self
            .cmd("run_test_cmd", &[line], envs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child)
    }

    /// `filter_test_cmds < lines 3> skipped | parallelize JOBS`, as a script runs it; the
    /// statuses of both, parallelize's output, and what reached fd 3.
    pub fn pipeline(&self, lines: &str, jobs: &str, envs: &[(&str, &str)]) -> (Out, String) {
        let dir = tempfile::tempdir().unwrap();
        let (input, skipped) = (dir.path().join("lines"), dir.path().join("skipped"));
        fs::write(&input, lines).unwrap();
        let script = format!(
            "set -o pipefail; \"$FILTER\" <'{}' 3>'{}' | \"$PARALLELIZE\" {jobs}",
            input.display(),
            skipped.display()
        );
        let mut cmd = command("bash");
        cmd.args(["-c", &script])
            .current_dir(std::env::temp_dir())
            .env("FILTER", exe("filter_test_cmds"))
            .env("PARALLELIZE", exe("parallelize"))
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = finish(cmd.spawn().unwrap());
        (out, fs::read_to_string(&skipped).unwrap())
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root().join(rel)).unwrap_or_default()
    }
}

pub const PATTERNS: &str = r#"# As in the original: owners by anchor, a list under `tests:`.
names:
  - alice: &alice "U01"
tests:
  - regex: "known_broken_[0-9]+"
    skip: true
    owners:
      - *alice
  - regex: "echo test 1[0-9]"
    error_regex: "flaked"
    owners:
      - *alice
"#;

/// The password of a [`Served`] project's server (user `aztec`, upstream's).
pub const SERVED_PASSWORD: &str = "s3cret";

/// A project whose store is a password-guarded ci3 server and nothing else: an explicit
/// `CI3_STORE` beside the server would keep the test cache itself.
pub struct Served {
    pub p: Project,
    pub server: super::server::Server,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Served {
    pub fn new() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let (server, url) = super::server::Server::guarded(dir.path(), SERVED_PASSWORD);
        let mut p = Project::new(None);
        p.envs.retain(|(k, _)| k != "CI3_STORE");
        Served {
            p,
            server,
            url,
            _dir: dir,
        }
    }

    /// The variables that point a tool at the server, with `extra` after them.
    pub fn vars<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut vars = vec![
            ("CI3_SERVER", self.url.as_str()),
            ("CI3_PASSWORD", SERVED_PASSWORD),
        ];
        vars.extend_from_slice(extra);
        vars
    }
}
