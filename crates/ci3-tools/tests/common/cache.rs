//! Fixtures of the cache tools' tests: where the tools look (a directory store, the test S3
//! server, a closed port, a public URL) and a build tree to archive and compare.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::exe::exe;
use super::s3_var;
use super::{command, run, Output};

/// Where the tools look, with everything else isolated.
#[derive(Clone)]
pub enum Where {
    Dir(PathBuf),
    /// The test S3 server, under a prefix of its own.
    S3(String),
    /// An S3 endpoint where nothing listens.
    Closed,
    /// Anonymous reads from `CI3_PUBLIC_CACHE_URL`, with no credentials anywhere.
    Public(String),
}

pub struct Env {
    pub at: Where,
    pub vars: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// This environment's machine state ($XDG_CACHE_HOME: ledger, manifests, breaker), shared
    /// by its commands and by no other test, and never the developer's own.
    state: tempfile::TempDir,
}

impl Env {
    pub fn new(at: Where, cwd: &Path) -> Env {
        Env {
            at,
            vars: Vec::new(),
            cwd: cwd.to_path_buf(),
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn var(mut self, k: &str, v: &str) -> Env {
        self.vars.push((k.into(), v.into()));
        self
    }

    pub fn cmd(&self, tool: &str, args: &[&str]) -> Command {
        self.cmd_any(exe(tool), args)
    }

    /// A command for any executable, with this environment.
    pub fn cmd_any(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = command(program);
        cmd.current_dir(&self.cwd).args(args);
        for var in [
            "CI3_S3_BUCKET",
            "CI3_S3_ENDPOINT",
            "S3_BUILD_CACHE_AWS_PARAMS",
            "CI3_S3_PREFIX",
            "TEST",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("XDG_CACHE_HOME", self.state.path());
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

    pub fn run(&self, tool: &str, args: &[&str]) -> Output {
        let out = run(&mut self.cmd(tool, args));
        assert_eq!(out.stdout, "", "{tool} must keep stdout empty");
        out
    }
}

pub fn s3_prefix(test: &str) -> Where {
    Where::S3(format!("{test}-{}/", std::process::id()))
}

/// A build output tree: a file, an executable, a symlink inside the tree, an empty dir, a
/// nested dir, and an old mtime.
pub fn make_tree(root: &Path) -> PathBuf {
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
pub fn snapshot(root: &Path) -> BTreeMap<String, (char, u32, i64, Vec<u8>)> {
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
