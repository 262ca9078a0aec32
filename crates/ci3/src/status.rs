//! What differs between HEAD, the index and the files on disk, for the paths that match.
//!
//! This mirrors the original's dirty check (`git diff --name-only`, `git diff --name-only
//! --cached`, `git ls-files --others --exclude-standard`) without spawning git, and only looks at
//! paths the patterns can match: a directory that no pattern can match below is never read.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use gix::ObjectId;

use crate::git::{Checkout, Entry, Mode};
use crate::hashing;
use crate::index::{Index, IndexEntry};
use crate::patterns::{Matcher, Under};
use crate::walk;

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

/// Scans HEAD, the index and the work tree. With `want_worktree`, also hashes what is on disk.
pub fn scan_head(co: &Checkout, matcher: &Matcher, want_worktree: bool) -> Result<HeadScan> {
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

    let disk = Disk {
        workdir: &co.workdir,
        index_secs: index.mtime_secs,
        options: StatOptions::from_config(co),
    };
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
            if let Some((mode, id)) =
                disk_entry(&co.disk_path(&full), disk.options.filemode, Mode::File)?
            {
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

/// An index entry whose path matches.
pub(crate) struct Matched<'i> {
    pub entry: IndexEntry<'i>,
    /// Relative to the top level.
    pub full: &'i [u8],
    /// Relative to the hashing root.
    pub path: &'i [u8],
}

/// The index entries below the hashing root whose path matches, in index order. When the
/// patterns are all anchored, each directory is judged once by its path: a directory no path
/// below can match is skipped by binary search, and one whose path alone matches is taken whole,
/// so only the rest is matched entry by entry.
fn matching_entries<'i>(co: &Checkout, index: &'i Index, matcher: &Matcher) -> Vec<Matched<'i>> {
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

pub(crate) enum State {
    Clean,
    Changed(Mode, ObjectId),
    Deleted,
}

#[derive(Clone, Copy)]
pub(crate) struct StatOptions {
    filemode: bool,
    trust_ctime: bool,
    check_stat: bool,
}

impl StatOptions {
    fn from_config(co: &Checkout) -> Self {
        let config = co.repo.config_snapshot();
        StatOptions {
            filemode: config.boolean("core.filemode").unwrap_or(true),
            trust_ctime: config.boolean("core.trustctime").unwrap_or(true),
            check_stat: config
                .string("core.checkstat")
                .is_none_or(|v| v.as_slice() != b"minimal"),
        }
    }
}

/// What is needed to judge an index entry against the disk; shared by the walk's threads.
pub(crate) struct Disk<'a> {
    workdir: &'a Path,
    index_secs: i64,
    options: StatOptions,
}

impl Disk<'_> {
    /// Compares entry `e`, on disk at `disk`, with its index record; `md` is its `lstat` when
    /// the caller already has it.
    pub(crate) fn state(
        &self,
        e: &IndexEntry<'_>,
        disk: &Path,
        md: Option<fs::Metadata>,
    ) -> Result<State> {
        if e.stage() != 0 {
            // An unresolved conflict is a change, whatever is on disk.
            return Ok(State::Deleted);
        }
        let Some(mode) = e.mode() else {
            return Ok(State::Clean);
        };
        if e.skip_worktree() || e.assume_valid() {
            return Ok(State::Clean);
        }
        if mode == Mode::Gitlink {
            return submodule_state(disk, e.id);
        }
        let filemode = self.options.filemode;
        if e.intent_to_add() {
            return disk_entry(disk, filemode, mode).map(changed_or_deleted);
        }
        let md = match md.map_or_else(|| fs::symlink_metadata(disk), Ok) {
            Ok(md) => md,
            Err(err) if is_missing(&err) => return Ok(State::Deleted),
            Err(err) => return Err(err).with_context(|| format!("cannot stat {}", disk.display())),
        };
        match mode_of(&md, filemode, mode) {
            None => return Ok(State::Deleted),
            Some(m) if m != mode => {
                return disk_entry(disk, filemode, mode).map(changed_or_deleted)
            }
            Some(_) => {}
        }
        if stat_matches(e, &md, self.options) && !is_racy(e, self.index_secs) {
            return Ok(State::Clean);
        }
        let id = content_id(disk, &md)?;
        Ok(if id == e.id {
            State::Clean
        } else {
            State::Changed(mode, id)
        })
    }

    /// The common case decided from `lstat` alone: the entry is unchanged.
    pub(crate) fn unchanged(&self, e: &IndexEntry<'_>, md: &fs::Metadata) -> bool {
        e.stage() == 0
            && !e.intent_to_add()
            && e.mode().is_some_and(|mode| {
                mode != Mode::Gitlink && mode_of(md, self.options.filemode, mode) == Some(mode)
            })
            && stat_matches(e, md, self.options)
            && !is_racy(e, self.index_secs)
    }

    pub(crate) fn workdir(&self) -> &Path {
        self.workdir
    }
}

fn changed_or_deleted(found: Option<(Mode, ObjectId)>) -> State {
    match found {
        Some((mode, id)) => State::Changed(mode, id),
        None => State::Deleted,
    }
}

/// A submodule is modified when its checked-out commit differs from the recorded one, or when
/// its tracked files are modified (as `git diff` reports it); an unpopulated one is clean.
fn submodule_state(dir: &Path, recorded: ObjectId) -> Result<State> {
    if !dir.join(".git").exists() {
        return Ok(State::Clean);
    }
    let head = gix::open(dir)
        .ok()
        .and_then(|r| r.head_id().ok().map(|id| id.detach()));
    let Some(head) = head else {
        return Ok(State::Changed(Mode::Gitlink, recorded));
    };
    if head != recorded {
        return Ok(State::Changed(Mode::Gitlink, head));
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--ignore-submodules=none",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run git status in submodule {}", dir.display()))?;
    if !out.status.success() {
        return Err(anyhow!("git status failed in submodule {}", dir.display()));
    }
    Ok(if out.stdout.is_empty() {
        State::Clean
    } else {
        State::Changed(Mode::Gitlink, head)
    })
}

/// The mode and content id of what is on disk at `path`, or `None` when nothing (or a directory) is.
fn disk_entry(path: &Path, filemode: bool, indexed: Mode) -> Result<Option<(Mode, ObjectId)>> {
    let md = match fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(err) if is_missing(&err) => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot stat {}", path.display())),
    };
    let Some(mode) = mode_of(&md, filemode, indexed) else {
        return Ok(None);
    };
    Ok(Some((mode, content_id(path, &md)?)))
}

fn mode_of(md: &fs::Metadata, filemode: bool, indexed: Mode) -> Option<Mode> {
    let ft = md.file_type();
    if ft.is_symlink() {
        Some(Mode::Symlink)
    } else if ft.is_file() {
        let executable = if filemode {
            md.permissions().mode() & 0o100 != 0
        } else {
            indexed == Mode::Executable
        };
        Some(if executable {
            Mode::Executable
        } else {
            Mode::File
        })
    } else {
        None
    }
}

/// The blob id of a file's bytes, or of a symlink's target.
fn content_id(path: &Path, md: &fs::Metadata) -> Result<ObjectId> {
    if md.file_type().is_symlink() {
        let target =
            fs::read_link(path).with_context(|| format!("cannot read link {}", path.display()))?;
        return Ok(hashing::blob_id(target.as_os_str().as_bytes()));
    }
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    hashing::blob_id_of_reader(file, md.len())
        .with_context(|| format!("cannot hash {}", path.display()))
}

/// git's `ie_match_stat` without nanoseconds (git's default build ignores them).
fn stat_matches(s: &IndexEntry<'_>, md: &fs::Metadata, o: StatOptions) -> bool {
    if s.mtime_secs != md.mtime() as u32 || s.size != md.len() as u32 {
        return false;
    }
    if o.trust_ctime && s.ctime_secs != md.ctime() as u32 {
        return false;
    }
    !o.check_stat || (s.ino == md.ino() as u32 && s.uid == md.uid() && s.gid == md.gid())
}

/// An entry written in the same second as the index may have changed unnoticed (racy git).
fn is_racy(s: &IndexEntry<'_>, index_secs: i64) -> bool {
    index_secs <= i64::from(s.mtime_secs)
}

pub(crate) fn is_missing(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}
