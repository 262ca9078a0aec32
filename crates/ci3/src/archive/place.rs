//! Moving a fully staged, verified archive into OUT_DIR: every move is decided before any is
//! made, so that a conflict refuses the whole archive with OUT_DIR untouched, and written to a
//! journal first, so that a move cut short by a kill is completed by the next extraction into
//! the same OUT_DIR (rolled forward: the staged tree was complete and verified).

use std::fs::{self, Permissions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::unsafe_entry;
use crate::error::{Error, IoAt, Result};

/// One step of moving the staged tree into OUT_DIR.
pub(crate) enum Move {
    /// Rename into place (replacing a non-directory there, atomically).
    Rename { from: PathBuf, to: PathBuf },
    /// A staged directory where OUT_DIR has a regular file: the file goes, as with GNU tar.
    ReplaceFile { from: PathBuf, to: PathBuf },
}

/// An existing directory of OUT_DIR that moves go into but whose owner may not write to it,
/// as a read-only directory restored by an earlier extraction of the same artifact.
pub(crate) struct Locked {
    pub(crate) rel: PathBuf,
    pub(crate) path: PathBuf,
    pub(crate) mode: u32,
}

pub(crate) struct Plan {
    moves: Vec<Move>,
    /// Deepest last, as found.
    pub(crate) locked: Vec<Locked>,
}

/// The journal's name inside the staging directory.
const JOURNAL: &str = ".ci3-journal";

impl Plan {
    /// Records the moves in `staging`'s journal (written, synced, then renamed into place), so
    /// that an interrupted `run` can be finished by [`replay`].
    pub(crate) fn journal(&self, staging: &Path) -> Result<()> {
        let mut text = Vec::new();
        for m in &self.moves {
            let (tag, from, to) = match m {
                Move::Rename { from, to } => (b'R', from, to),
                Move::ReplaceFile { from, to } => (b'F', from, to),
            };
            text.push(tag);
            text.push(0);
            text.extend_from_slice(from.as_os_str().as_bytes());
            text.push(0);
            text.extend_from_slice(to.as_os_str().as_bytes());
            text.push(0);
        }
        let tmp = staging.join(".ci3-journal.tmp");
        let write = || -> io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            io::Write::write_all(&mut f, &text)?;
            f.sync_data()?;
            fs::rename(&tmp, staging.join(JOURNAL))
        };
        write().at("cannot write the move journal in", staging)
    }

    /// Makes the moves, opening locked directories to their owner first. Their modes are the
    /// caller's to restore (the archive may set new ones), with [`Plan::relock`] at least.
    pub(crate) fn run(&self) -> Result<()> {
        for l in &self.locked {
            fs::set_permissions(&l.path, Permissions::from_mode(l.mode | 0o300)).map_err(|e| {
                let shown = l.path.display();
                Error::io(&l.path, format!("cannot make {shown} writable: {e}"))
            })?;
        }
        self.moves.iter().try_for_each(Move::run)
    }

    /// Puts back the modes of the locked directories, deepest first.
    pub(crate) fn relock(&self, keep: impl Fn(&Path) -> bool) -> Result<()> {
        for l in self.locked.iter().rev().filter(|l| !keep(&l.rel)) {
            fs::set_permissions(&l.path, Permissions::from_mode(l.mode))
                .at("cannot restore the mode of", &l.path)?;
        }
        Ok(())
    }
}

/// Finishes the moves an interrupted extraction recorded in `staging`'s journal: those whose
/// source is still staged are made; the rest were made before the interruption. A staging
/// directory without a journal had not begun to move anything.
pub(crate) fn replay(staging: &Path) -> io::Result<()> {
    let text = match fs::read(staging.join(JOURNAL)) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let fields: Vec<&[u8]> = text.split(|&b| b == 0).collect();
    for record in fields.chunks_exact(3) {
        let from = PathBuf::from(std::ffi::OsStr::from_bytes(record[1]));
        let to = PathBuf::from(std::ffi::OsStr::from_bytes(record[2]));
        // Only moves out of this staging directory: the journal is ours, but it is on disk.
        if !from.starts_with(staging) || fs::symlink_metadata(&from).is_err() {
            continue;
        }
        let m = match record[0] {
            [b'F'] => Move::ReplaceFile { from, to },
            _ => Move::Rename { from, to },
        };
        if let Move::ReplaceFile { to, .. } = &m {
            if fs::symlink_metadata(to).is_err() {
                // The file it replaces is already gone: a plain rename finishes it.
                fs::rename(m.from(), to)?;
                continue;
            }
        }
        m.run().map_err(io::Error::other)?;
    }
    Ok(())
}

impl Move {
    fn from(&self) -> &Path {
        match self {
            Move::Rename { from, .. } | Move::ReplaceFile { from, .. } => from,
        }
    }

    fn run(&self) -> Result<()> {
        let (from, to) = match self {
            Move::Rename { from, to } => (from, to),
            Move::ReplaceFile { from, to } => {
                fs::remove_file(to).at("cannot replace", to)?;
                (from, to)
            }
        };
        fs::rename(from, to)
            .map_err(|e| Error::io(to, format!("cannot move {} into place: {e}", to.display())))
    }
}

/// Decides every move before making any, so that a conflict refuses the whole archive and
/// leaves OUT_DIR untouched. A staged directory merges into an existing real directory; where
/// OUT_DIR has a symlink instead it is refused: following it could lead out of OUT_DIR (or,
/// pointing inside, let a later archive's relative links climb out through it).
pub(crate) fn plan_moves(staged: &Path, dest: &Path) -> Result<Plan> {
    let mut moves = Vec::new();
    let mut locked = Vec::new();
    let rel = Path::new("");
    let mut pending = vec![(staged.to_path_buf(), dest.to_path_buf(), rel.to_path_buf())];
    while let Some((staged, dest, rel)) = pending.pop() {
        let read = fs::read_dir(&staged).at("cannot read", &staged)?;
        for child in read {
            let child = child.at("cannot read", &staged)?;
            let from = child.path();
            let to = dest.join(child.file_name());
            let child_rel = rel.join(child.file_name());
            let staged_dir = child.file_type()?.is_dir();
            let existing = match fs::symlink_metadata(&to) {
                Ok(md) => {
                    let mode = md.permissions().mode() & 0o7777;
                    if md.is_dir() && staged_dir && mode & 0o300 != 0o300 {
                        locked.push(Locked {
                            rel: child_rel.clone(),
                            path: to.clone(),
                            mode,
                        });
                    }
                    Some(md.file_type())
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).at("cannot read", &to),
            };
            let shown = child_rel.as_os_str().as_bytes();
            match existing {
                None => moves.push(Move::Rename { from, to }),
                Some(ft) if staged_dir && ft.is_dir() => pending.push((from, to, child_rel)),
                Some(ft) if staged_dir && ft.is_symlink() => {
                    let target = fs::read_link(&to).unwrap_or_default();
                    return Err(unsafe_entry(
                        shown,
                        format!(
                            "{} is a symlink (to {}) in the output directory; extraction never goes through one",
                            to.display(),
                            target.display()
                        ),
                    ));
                }
                Some(_) if staged_dir => moves.push(Move::ReplaceFile { from, to }),
                Some(ft) if ft.is_dir() => {
                    let message = format!(
                        "cannot extract '{}': {} is a directory",
                        child_rel.display(),
                        to.display()
                    );
                    return Err(Error::io(&to, message));
                }
                Some(_) => moves.push(Move::Rename { from, to }),
            }
        }
    }
    Ok(Plan { moves, locked })
}
