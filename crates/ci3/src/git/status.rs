//! What differs between HEAD, the index and the files on disk, for the paths that match.
//!
//! This mirrors the original's dirty check (`git diff --name-only`, `git diff --name-only
//! --cached`, `git ls-files --others --exclude-standard`) without spawning git, and only looks at
//! paths the patterns can match: a directory that no pattern can match below is never read.

use crate::error::Result;

use super::checkout::Checkout;
use super::disk::{Disk, State};
use super::entry::Entry;
use super::filter::{Matched, PathFilter, Under};
use super::index::Index;
use super::walk;

/// The state of the matching paths of a checkout against HEAD.
pub struct HeadScan {
    /// Matching entries of HEAD's tree.
    pub committed: Vec<Entry>,
    /// Matching paths that differ in the index, on disk, or are untracked and not ignored.
    pub dirty: Vec<Vec<u8>>,
    /// Matching entries as they are on disk (deleted files dropped, untracked ones added);
    /// only filled when asked for.
    pub worktree: Vec<Entry>,
}

/// Every path of the work tree that differs from HEAD or is untracked and not ignored.
pub fn dirty_paths(co: &Checkout) -> Result<Vec<String>> {
    Ok(scan_head(co, &Everything, false)?
        .dirty
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// A filter that takes every path.
struct Everything;

impl PathFilter for Everything {
    fn is_match(&self, _path: &[u8]) -> bool {
        true
    }
    fn under(&self, _dir_prefix: &[u8]) -> Under {
        Under::All
    }
}

/// Scans HEAD, the index and the work tree. With `want_worktree`, also hashes what is on disk.
pub fn scan_head(co: &Checkout, matcher: &dyn PathFilter, want_worktree: bool) -> Result<HeadScan> {
    let head_tree = co.tree_id("HEAD")?;
    let index = co.index()?;
    let matched = matching_entries(co, &index, matcher);
    let indexed: Vec<Entry> = matched
        .iter()
        .filter(|m| m.entry.stage() == 0)
        .filter_map(|m| {
            Some(Entry {
                path: m.path.to_vec(),
                mode: m.entry.mode()?,
                id: m.entry.id,
            })
        })
        .collect();

    let mut dirty = Vec::new();
    let committed = if index.is_tree(head_tree) {
        indexed
    } else {
        let committed = co.tree_entries(head_tree, matcher)?;
        staged_paths(&committed, &indexed, &mut dirty);
        committed
    };

    let disk = Disk::new(co, index.mtime_secs);
    let found = walk::walk(co, &index, matcher, &matched, &disk)?;

    // Only changes cost an allocation unless the work-tree entries are asked for.
    let mut worktree = Vec::new();
    for (m, state) in matched.iter().zip(found.states) {
        let state = match state {
            Some(state) => state,
            // Not met on the walk (its directory is gone, or is not a directory): ask directly.
            None => disk.state(&m.entry, &co.disk_path(m.full), None)?,
        };
        let on_disk = match state {
            State::Clean => m.entry.mode().map(|mode| (mode, m.entry.id)),
            State::Changed(mode, id) => {
                dirty.push(m.path.to_vec());
                Some((mode, id))
            }
            State::Deleted => {
                dirty.push(m.path.to_vec());
                None
            }
        };
        if let (true, Some((mode, id))) = (want_worktree, on_disk) {
            worktree.push(Entry {
                path: m.path.to_vec(),
                mode,
                id,
            });
        }
    }
    for path in found.untracked {
        if want_worktree {
            let mut full = co.prefix.clone();
            full.extend_from_slice(&path);
            if let Some((mode, id)) = disk.untracked(&co.disk_path(&full), None)? {
                worktree.push(Entry {
                    path: path.clone(),
                    mode,
                    id,
                });
            }
        }
        dirty.push(path);
    }

    dirty.sort();
    dirty.dedup();
    worktree.sort();
    Ok(HeadScan {
        committed,
        dirty,
        worktree,
    })
}

/// The index entries below the hashing root whose path matches, in index order. When the
/// patterns are all anchored, each directory is judged once by its path: a directory no path
/// below can match is skipped by binary search, and one whose path alone matches is taken whole,
/// so only the rest is matched entry by entry.
fn matching_entries<'i>(
    co: &Checkout,
    index: &'i Index,
    matcher: &dyn PathFilter,
) -> Vec<Matched<'i>> {
    let range = co.rooted_entries(index);
    // Room for all: pages never written are never faulted in, and growing by copying is not free.
    let mut out = Vec::with_capacity(range.len());
    let mut i = range.start;
    // The directory of the previous entry and what the patterns say below it.
    let mut judged: (&[u8], Under) = (b"\0", Under::Some);
    while i < range.end {
        let full = index.path(i);
        let path = co.relative(full);
        let dir = &path[..path.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1)];
        if dir != judged.0 {
            judged = (dir, matcher.under(dir));
            if judged.1 == Under::None {
                // Skip from the highest directory nothing below can match.
                let top = dir
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| b == b'/')
                    .map(|(p, _)| &dir[..=p])
                    .find(|d| matcher.under(d) == Under::None)
                    .unwrap_or(dir);
                i = index.prefixed(&full[..co.prefix.len() + top.len()]).end;
                continue;
            }
        }
        if judged.1 == Under::All || matcher.is_match(path) {
            out.push(Matched {
                entry: index.entry(i),
                full,
                path,
            });
        }
        i += 1;
    }
    out
}

/// Paths whose entry differs between the two lists (added, removed or changed).
fn staged_paths(committed: &[Entry], indexed: &[Entry], out: &mut Vec<Vec<u8>>) {
    let mut a = committed.to_vec();
    a.sort();
    let mut b = indexed.to_vec();
    b.sort();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.path == y.path => {
                if x != y {
                    out.push(x.path.clone());
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.path < y.path => {
                out.push(x.path.clone());
                i += 1;
            }
            (Some(x), None) => {
                out.push(x.path.clone());
                i += 1;
            }
            (_, Some(y)) => {
                out.push(y.path.clone());
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
}
