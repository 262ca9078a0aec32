//! Reading a checkout in-process: the committed tree, the index and their entries.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use gix::prelude::FindExt;
use gix::ObjectId;

use super::entry::{os_path, Entry, Mode};
use super::filter::PathFilter;
use super::index::Index;
use crate::error::{Error, Result};

/// A git work tree, seen from the directory whose paths are hashed (the top level, or the
/// directory `REPO_PATH` names inside it).
pub struct Checkout {
    pub(crate) repo: gix::Repository,
    pub(crate) workdir: PathBuf,
    /// The hashing root relative to the top level, with a trailing `/`, or empty.
    pub(crate) prefix: Vec<u8>,
    index_tables: PathBuf,
}

/// The top level of the work tree containing `dir`, with symlinks resolved.
pub fn toplevel(dir: &Path) -> Result<PathBuf> {
    let repo = discover(dir)?;
    let workdir = workdir(&repo, dir)?;
    canonical(workdir)
}

/// The repository containing `dir`.
fn discover(dir: &Path) -> Result<gix::Repository> {
    gix::discover(dir).map_err(|e| {
        let message = format!("{}: not inside a git work tree ({e})", dir.display());
        Error::io(dir, message)
    })
}

/// The work tree of `repo`, found from `dir`.
fn workdir<'r>(repo: &'r gix::Repository, dir: &Path) -> Result<&'r Path> {
    repo.workdir().ok_or_else(|| {
        let message = format!("{}: the repository has no work tree", dir.display());
        Error::io(dir, message)
    })
}

/// `path` with symlinks resolved.
fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io(path, format!("{}: {e}", path.display())))
}

/// The commit HEAD points at in the repository containing `dir`.
pub fn head_commit(dir: &Path) -> Option<String> {
    let repo = gix::discover(dir).ok()?;
    Some(repo.head_id().ok()?.to_string())
}

impl Checkout {
    /// Opens the repository containing `dir`; paths are then relative to `dir` when `dir_is_root`,
    /// else to the top level. The offsets of the index entries are remembered in `index_tables`.
    pub fn open(dir: &Path, dir_is_root: bool, index_tables: &Path) -> Result<Self> {
        let repo = discover(dir)?;
        let workdir = workdir(&repo, dir)?.to_path_buf();
        let mut prefix = Vec::new();
        if dir_is_root {
            let top = canonical(&workdir)?;
            let here = canonical(dir)?;
            let rel = here.strip_prefix(&top).map_err(|_| {
                Error::io(dir, format!("{} is outside its work tree", dir.display()))
            })?;
            if !rel.as_os_str().is_empty() {
                prefix = rel.as_os_str().as_bytes().to_vec();
                prefix.push(b'/');
            }
        }
        Ok(Checkout {
            repo,
            workdir,
            prefix,
            index_tables: index_tables.to_path_buf(),
        })
    }

    /// A failure reading the repository: about the checkout at its work tree.
    pub(crate) fn failed(&self, message: String) -> Error {
        Error::io(&self.workdir, message)
    }

    /// Where a top-level-relative path is on disk.
    pub(crate) fn disk_path(&self, path: &[u8]) -> PathBuf {
        self.workdir.join(os_path(path))
    }

    /// The id of the tree that `treeish` names.
    pub fn tree_id(&self, treeish: &str) -> Result<ObjectId> {
        let id = self
            .repo
            .rev_parse_single(treeish)
            .map_err(|e| self.failed(format!("cannot resolve '{treeish}': {e}")))?;
        let tree = id
            .object()
            .and_then(|o| o.peel_to_tree())
            .map_err(|e| self.failed(format!("'{treeish}' does not name a tree: {e}")))?;
        Ok(tree.id)
    }

    /// The entries of tree `tree` (recursively) whose hashing-root-relative path matches.
    pub fn tree_entries(&self, tree: ObjectId, matcher: &dyn PathFilter) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        let Some(root) = self.subtree(tree)? else {
            return Ok(out);
        };
        let mut path = Vec::with_capacity(256);
        self.walk(root, &mut path, matcher, &mut out)?;
        Ok(out)
    }

    /// The tree at the hashing root, or `None` when the prefix is not in `tree`.
    fn subtree(&self, tree: ObjectId) -> Result<Option<ObjectId>> {
        let mut id = tree;
        let mut buf = Vec::new();
        for component in self.prefix.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            let t = self
                .repo
                .objects
                .find_tree(&id, &mut buf)
                .map_err(|e| self.failed(format!("reading tree {id}: {e}")))?;
            match t
                .entries
                .iter()
                .find(|e| e.filename == component && e.mode.is_tree())
            {
                Some(e) => id = e.oid.to_owned(),
                None => return Ok(None),
            }
        }
        Ok(Some(id))
    }

    fn walk(
        &self,
        tree: ObjectId,
        path: &mut Vec<u8>,
        matcher: &dyn PathFilter,
        out: &mut Vec<Entry>,
    ) -> Result<()> {
        let mut buf = Vec::new();
        let t = self
            .repo
            .objects
            .find_tree(&tree, &mut buf)
            .map_err(|e| self.failed(format!("reading tree {tree}: {e}")))?;
        for e in &t.entries {
            let len = path.len();
            path.extend_from_slice(e.filename);
            match Mode::from_tree(e.mode) {
                None => {
                    path.push(b'/');
                    if matcher.may_match_under(path) {
                        self.walk(e.oid.to_owned(), path, matcher, out)?;
                    }
                }
                Some(mode) => {
                    if matcher.is_match(path) {
                        out.push(Entry {
                            path: path.clone(),
                            mode,
                            id: e.oid.to_owned(),
                        });
                    }
                }
            }
            path.truncate(len);
        }
        Ok(())
    }

    /// Reads the index; a repository without one has an empty index.
    pub fn index(&self) -> Result<Index> {
        Index::open_with_tables(&self.repo, &self.index_tables)
    }

    /// The positions of the index entries below the hashing root.
    pub(crate) fn rooted_entries(&self, index: &Index) -> std::ops::Range<usize> {
        index.prefixed(&self.prefix)
    }

    /// A top-level-relative path as the hashing root sees it.
    pub(crate) fn relative<'p>(&self, path: &'p [u8]) -> &'p [u8] {
        &path[self.prefix.len()..]
    }
}
