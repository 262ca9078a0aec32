//! Resolving the entries a content hash covers: patterns, hashing root, tree-ish, dirty check.

use std::ffi::OsString;
use std::path::PathBuf;

use super::patterns::{self, Matcher};
use crate::error::Result;
use crate::git::{self, Checkout, Entry};
use crate::settings::Settings;

/// What a content hash is computed from.
pub enum Resolved {
    /// The matched entries (never empty) and the pattern lines that matched them.
    Entries(Vec<Entry>, Vec<String>),
    /// Matching paths have uncommitted changes: caching is disabled.
    Dirty(Vec<Vec<u8>>),
    /// Nothing matched; the message says which patterns in which tree-ish. A key over no files
    /// would be the same for every project, so callers print the sentinel and fail.
    Unmatched(String),
}

/// How the entries are taken.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The committed tree (`AZTEC_CACHE_COMMIT`, else `HEAD` with the dirty check).
    Committed,
    /// The files as they are on disk.
    Worktree,
}

/// Resolves the entries for `args` (pattern files, regexes, directories) in the checkout the
/// settings name (`REPO_PATH`, else the cwd's) at their tree-ish (`AZTEC_CACHE_COMMIT`, else
/// `HEAD` with the dirty check).
pub fn resolve(settings: &Settings, args: &[OsString], source: Source) -> Result<Resolved> {
    resolve_patterns(settings, patterns::load(args)?, source)
}

/// Like `resolve`, for pattern lines already read (from a stored manifest, say).
pub fn resolve_patterns(
    settings: &Settings,
    patterns: Vec<patterns::Pattern>,
    source: Source,
) -> Result<Resolved> {
    let matcher = Matcher::new(&patterns)?;
    let (dir, dir_is_root) = match &settings.hashing.repo_path {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("."), false),
    };
    let checkout = Checkout::open(&dir, dir_is_root, &settings.state().git_index())?;
    let treeish = settings
        .hashing
        .commit
        .clone()
        .unwrap_or_else(|| "HEAD".into());

    let entries = if treeish == "HEAD" {
        let scan = git::scan_head(&checkout, &matcher, source == Source::Worktree)?;
        match source {
            Source::Worktree => scan.worktree,
            Source::Committed if !scan.dirty.is_empty() => return Ok(Resolved::Dirty(scan.dirty)),
            Source::Committed => scan.committed,
        }
    } else {
        if source == Source::Worktree {
            crate::fail!(Usage, "--worktree hashes the files on disk; it cannot be combined with AZTEC_CACHE_COMMIT={treeish}");
        }
        checkout.tree_entries(checkout.tree_id(&treeish)?, &matcher)?
    };
    if entries.is_empty() {
        let list: Vec<&str> = patterns.iter().map(|p| p.text.as_str()).collect();
        return Ok(Resolved::Unmatched(format!(
            "No files matched the rebuild patterns ({}) in {treeish}",
            list.join(", ")
        )));
    }
    Ok(Resolved::Entries(
        entries,
        patterns.into_iter().map(|p| p.text).collect(),
    ))
}

/// The key of inputs with uncommitted changes, at any `CI` value: the sentinel (exit 0), and at
/// `CI=1` the original's warning for stderr (`None`: the caller's own note). Failing here would
/// be unsafe: scripts nest the call (`hash_str x $(cache_content_hash ...)`, `export h=$(...)`),
/// where bash drops a failing substitution and the key would stop depending on the content.
pub fn dirty_key(settings: &Settings, paths: &[Vec<u8>]) -> (String, Option<String>) {
    let warning = settings.ci.then(|| dirty_warning(paths));
    (super::SENTINEL.to_string(), warning)
}

/// The original's CI warning for dirty inputs: every path, separated by spaces.
fn dirty_warning(paths: &[Vec<u8>]) -> String {
    let list: Vec<String> = paths
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    format!(
        "WARNING: Noticed changes to rebuild patterns: {}",
        list.join(" ")
    )
}
