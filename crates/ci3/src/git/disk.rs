//! One index entry judged against the file on disk: unchanged by stat data, else by content.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, IoAt, Result};
use gix::ObjectId;

use super::checkout::Checkout;
use super::entry::Mode;
use super::index::IndexEntry;
use super::object;

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

impl<'a> Disk<'a> {
    pub(crate) fn new(co: &'a Checkout, index_secs: i64) -> Self {
        Disk {
            workdir: &co.workdir,
            index_secs,
            options: StatOptions::from_config(co),
        }
    }

    /// The mode and content id of an untracked file, or `None` when it is gone; `md` is its
    /// `lstat` when the caller already has it.
    pub(crate) fn untracked(
        &self,
        path: &Path,
        md: Option<fs::Metadata>,
    ) -> Result<Option<(Mode, ObjectId)>> {
        match md {
            Some(md) => match mode_of(&md, self.options.filemode, Mode::File) {
                Some(mode) => Ok(Some((mode, content_id(path, &md)?))),
                None => Ok(None),
            },
            None => disk_entry(path, self.options.filemode, Mode::File),
        }
    }

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
            Err(err) => return Err(err).at("cannot stat", disk),
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
        .at("cannot run git status in submodule", dir)?;
    if !out.status.success() {
        let message = format!("git status failed in submodule {}", dir.display());
        return Err(Error::io(dir, message));
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
        Err(err) => return Err(err).at("cannot stat", path),
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
        let target = fs::read_link(path).at("cannot read link", path)?;
        return Ok(object::blob_id(target.as_os_str().as_bytes()));
    }
    let file = fs::File::open(path).at("cannot read", path)?;
    object::blob_id_of_reader(file, md.len()).at("cannot hash", path)
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
