//! What differs between HEAD, the index and the files on disk, for the paths that match.
//!
//! This mirrors the original's dirty check (`git diff --name-only`, `git diff --name-only
//! --cached`, `git ls-files --others --exclude-standard`) without spawning git, and only looks at
//! paths the patterns can match: a directory that no pattern can match below is never read.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use gix::bstr::{BStr, ByteSlice};
use gix::index::entry::Flags;
use gix::ObjectId;

use crate::git::{Checkout, Entry, Mode};
use crate::hashing;
use crate::patterns::Matcher;

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
    let indexed = co.index_entries(&index, matcher);

    let mut dirty = Vec::new();
    let committed = if co.index_is_tree(&index, head_tree) {
        indexed.clone()
    } else {
        let committed = co.tree_entries(head_tree, matcher)?;
        staged_paths(&committed, &indexed, &mut dirty);
        committed
    };

    let options = StatOptions::from_config(co);
    let mut worktree = Vec::new();
    for e in co.rooted_entries(&index) {
        let full = e.path(&index);
        let path = co.relative(full);
        if !matcher.is_match(path) {
            continue;
        }
        if e.stage_raw() != 0 {
            dirty.push(path.to_vec());
            continue;
        }
        let Some(mode) = Mode::from_index(e.mode) else {
            continue;
        };
        let state =
            if e.flags.contains(Flags::SKIP_WORKTREE) || e.flags.contains(Flags::ASSUME_VALID) {
                State::Clean
            } else {
                worktree_state(co, &index, e, full, mode, options)?
            };
        let entry = |mode, id| Entry {
            path: path.to_vec(),
            mode,
            id,
        };
        match state {
            State::Clean => worktree.push(entry(mode, e.id)),
            State::Changed(mode, id) => {
                dirty.push(path.to_vec());
                worktree.push(entry(mode, id));
            }
            State::Deleted => dirty.push(path.to_vec()),
        }
    }

    let untracked = untracked(co, &index, matcher)?;
    for path in untracked {
        if want_worktree {
            let full = co.disk_path(&path_in_workdir(co, &path));
            if let Some((mode, id)) = disk_entry(&full, options.filemode, Mode::File)? {
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
    if want_worktree {
        worktree.sort();
    } else {
        worktree.clear();
    }
    Ok(HeadScan {
        committed,
        dirty,
        worktree,
    })
}

/// Paths whose entry differs between the two sorted-by-path lists (added, removed or changed).
fn staged_paths(committed: &[Entry], indexed: &[Entry], out: &mut Vec<Vec<u8>>) {
    let mut a = committed.to_vec();
    a.sort();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < indexed.len() {
        match (a.get(i), indexed.get(j)) {
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

enum State {
    Clean,
    Changed(Mode, ObjectId),
    Deleted,
}

#[derive(Clone, Copy)]
struct StatOptions {
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

fn worktree_state(
    co: &Checkout,
    index: &gix::index::File,
    e: &gix::index::Entry,
    full: &BStr,
    mode: Mode,
    options: StatOptions,
) -> Result<State> {
    let disk = co.disk_path(full);
    if mode == Mode::Gitlink {
        return submodule_state(&disk, e.id);
    }
    if e.flags.contains(Flags::INTENT_TO_ADD) {
        return Ok(match disk_entry(&disk, options.filemode, mode)? {
            Some((mode, id)) => State::Changed(mode, id),
            None => State::Deleted,
        });
    }
    let md = match fs::symlink_metadata(&disk) {
        Ok(md) => md,
        Err(err) if is_missing(&err) => return Ok(State::Deleted),
        Err(err) => return Err(err).with_context(|| format!("cannot stat {}", disk.display())),
    };
    let disk_mode = mode_of(&md, options.filemode, mode);
    match disk_mode {
        None => return Ok(State::Deleted),
        Some(m) if m != mode => {
            return disk_entry(&disk, options.filemode, mode).map(changed_or_deleted)
        }
        Some(_) => {}
    }
    if stat_matches(&e.stat, &md, options) && !is_racy(&e.stat, index.timestamp().unix_seconds()) {
        return Ok(State::Clean);
    }
    let id = content_id(&disk, &md)?;
    Ok(if id == e.id {
        State::Clean
    } else {
        State::Changed(mode, id)
    })
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
        Some(if !filemode {
            if indexed == Mode::Executable {
                Mode::Executable
            } else {
                Mode::File
            }
        } else if md.permissions().mode() & 0o100 != 0 {
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
fn stat_matches(s: &gix::index::entry::Stat, md: &fs::Metadata, o: StatOptions) -> bool {
    if s.mtime.secs != md.mtime() as u32 || s.size != md.len() as u32 {
        return false;
    }
    if o.trust_ctime && s.ctime.secs != md.ctime() as u32 {
        return false;
    }
    !o.check_stat || (s.ino == md.ino() as u32 && s.uid == md.uid() && s.gid == md.gid())
}

/// An entry written in the same second as the index may have changed unnoticed (racy git).
fn is_racy(s: &gix::index::entry::Stat, index_secs: i64) -> bool {
    index_secs <= i64::from(s.mtime.secs)
}

fn is_missing(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

fn path_in_workdir(co: &Checkout, rel: &[u8]) -> Vec<u8> {
    let mut p = co.prefix.clone();
    p.extend_from_slice(rel);
    p
}

/// Untracked, not ignored paths that match, relative to the hashing root, as
/// `git ls-files --others --exclude-standard` lists them (an untracked nested repository is one
/// path ending in `/`).
fn untracked(co: &Checkout, index: &gix::index::File, matcher: &Matcher) -> Result<Vec<Vec<u8>>> {
    let mut excludes = co
        .repo
        .excludes(
            index,
            None,
            gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped,
        )
        .map_err(|e| anyhow!("cannot read the ignore rules: {e}"))?;
    let mut walk = Walk {
        co,
        index,
        matcher,
        excludes: &mut excludes,
        out: Vec::new(),
    };
    let mut dir = co.prefix.clone();
    walk.dir(&mut dir)?;
    Ok(walk.out)
}

struct Walk<'a, 'r> {
    co: &'a Checkout,
    index: &'a gix::index::File,
    matcher: &'a Matcher,
    excludes: &'a mut gix::AttributeStack<'r>,
    out: Vec<Vec<u8>>,
}

impl Walk<'_, '_> {
    fn is_excluded(&mut self, path: &[u8], is_dir: bool) -> Result<bool> {
        let mode = is_dir.then_some(gix::index::entry::Mode::DIR);
        let platform = self
            .excludes
            .at_entry(path.as_bstr(), mode)
            .map_err(|e| anyhow!("cannot evaluate ignore rules for {}: {e}", path.as_bstr()))?;
        Ok(platform.is_excluded())
    }

    /// Visits directory `dir` (top-level relative, empty or ending in `/`).
    fn dir(&mut self, dir: &mut Vec<u8>) -> Result<()> {
        let disk: PathBuf = self.co.disk_path(dir);
        let read = match fs::read_dir(&disk) {
            Ok(read) => read,
            Err(err) if is_missing(&err) => return Ok(()),
            Err(err) => return Err(err).with_context(|| format!("cannot list {}", disk.display())),
        };
        let mut names = Vec::new();
        for dirent in read {
            let dirent = dirent.with_context(|| format!("cannot list {}", disk.display()))?;
            let is_dir = dirent.file_type().map(|t| t.is_dir()).unwrap_or(false);
            names.push((dirent.file_name().as_bytes().to_vec(), is_dir));
        }
        for (name, is_dir) in names {
            if name == b".git" {
                continue;
            }
            let len = dir.len();
            dir.extend_from_slice(&name);
            if is_dir {
                self.subdir(dir)?;
            } else {
                self.file(dir)?;
            }
            dir.truncate(len);
        }
        Ok(())
    }

    fn subdir(&mut self, path: &mut Vec<u8>) -> Result<()> {
        if self.index.entry_index_by_path(path.as_bstr()).is_ok() {
            // A tracked submodule (or a file replaced by a directory, which the entry reports).
            return Ok(());
        }
        path.push(b'/');
        let rel = &path[self.co.prefix.len()..];
        if !self.matcher.may_match_under(rel) {
            return Ok(());
        }
        let tracked_below = self.index.prefixed_entries(path.as_bstr()).is_some();
        let name = &path[..path.len() - 1];
        if self.is_excluded(name, true)? {
            return Ok(());
        }
        let disk = self.co.disk_path(name);
        if !tracked_below && disk.join(".git").exists() {
            // An untracked nested repository is listed as a whole, not entered.
            let rel = rel.to_vec();
            if self.matcher.is_match(&rel) {
                self.out.push(rel);
            }
            return Ok(());
        }
        self.dir(path)
    }

    fn file(&mut self, path: &[u8]) -> Result<()> {
        let rel = &path[self.co.prefix.len()..];
        if !self.matcher.is_match(rel) || self.index.entry_index_by_path(path.as_bstr()).is_ok() {
            return Ok(());
        }
        if self.is_excluded(path, false)? {
            return Ok(());
        }
        self.out.push(rel.to_vec());
        Ok(())
    }
}
