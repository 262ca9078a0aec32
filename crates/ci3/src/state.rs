//! Every path under this machine's state directory (`$XDG_CACHE_HOME/ci3`, else
//! `~/.cache/ci3`): the default store, input manifests, the cache ledger, usage totals, outage
//! breakers, multipart journals, git index snapshots and the servers' pid files and logs, named
//! in one place so that no two layers pick the same name for different things.

use std::path::{Path, PathBuf};

/// The state directory: `$XDG_CACHE_HOME/ci3`, else `HOME/.cache/ci3`.
pub fn root(xdg_cache_home: Option<PathBuf>, home: &Path) -> PathBuf {
    xdg_cache_home
        .unwrap_or_else(|| home.join(".cache"))
        .join("ci3")
}

/// The paths under one state directory.
#[derive(Clone, Copy, Debug)]
pub struct State<'a> {
    root: &'a Path,
}

impl<'a> State<'a> {
    pub fn new(root: &'a Path) -> State<'a> {
        State { root }
    }

    pub fn root(&self) -> &'a Path {
        self.root
    }

    /// The directory store used when none is configured.
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// The input manifests of the keys built here (`rebuild_needed --explain`).
    pub fn manifests(&self) -> PathBuf {
        self.root.join("manifests")
    }

    /// The cache ledger (`cache_stats`): the current file and the one it rotates into.
    pub fn ledger(&self) -> (PathBuf, PathBuf) {
        (
            self.root.join("ledger.jsonl"),
            self.root.join("ledger.1.jsonl"),
        )
    }

    /// The running size totals of the capped directories.
    pub fn usage(&self) -> PathBuf {
        self.root.join("usage")
    }

    /// The shared outage breakers of the remote stores.
    pub fn breakers(&self) -> PathBuf {
        self.root.join("breaker")
    }

    /// The journal of in-flight S3 multipart uploads.
    pub fn multipart(&self) -> PathBuf {
        self.root.join("multipart")
    }

    /// The pid file and log of the ci3 server on `port` (`ci3_server start`).
    pub fn server(&self, port: u16) -> PathBuf {
        self.root.join(format!("server-{port}"))
    }

    /// The snapshots of git indexes the hashing keeps between runs.
    pub fn git_index(&self) -> PathBuf {
        self.root.join("index")
    }
}
