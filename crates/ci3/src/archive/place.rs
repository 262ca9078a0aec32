//! Moving a fully staged, verified archive into OUT_DIR: every move is decided before any is
//! made, so that a conflict refuses the whole archive with OUT_DIR untouched.

use std::fs::{self, Permissions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use super::unsafe_entry;

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

impl Plan {
    /// Makes the moves, opening locked directories to their owner first. Their modes are the
    /// caller's to restore (the archive may set new ones), with [`Plan::relock`] at least.
    pub(crate) fn run(&self) -> Result<()> {
        for l in &self.locked {
            fs::set_permissions(&l.path, Permissions::from_mode(l.mode | 0o300))
                .with_context(|| format!("cannot make {} writable", l.path.display()))?;
        }
        self.moves.iter().try_for_each(Move::run)
    }

    /// Puts back the modes of the locked directories, deepest first.
    pub(crate) fn relock(&self, keep: impl Fn(&Path) -> bool) -> Result<()> {
        for l in self.locked.iter().rev().filter(|l| !keep(&l.rel)) {
            fs::set_permissions(&l.path, Permissions::from_mode(l.mode))
                .with_context(|| format!("cannot restore the mode of {}", l.path.display()))?;
        }
        Ok(())
    }
}

impl Move {
    fn run(&self) -> Result<()> {
        let (from, to) = match self {
            Move::Rename { from, to } => (from, to),
            Move::ReplaceFile { from, to } => {
                fs::remove_file(to).with_context(|| format!("cannot replace {}", to.display()))?;
                (from, to)
            }
        };
        fs::rename(from, to).with_context(|| format!("cannot move {} into place", to.display()))
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
        let read =
            fs::read_dir(&staged).with_context(|| format!("cannot read {}", staged.display()))?;
        for child in read {
            let child = child.with_context(|| format!("cannot read {}", staged.display()))?;
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
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", to.display())),
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
                    return Err(anyhow!(
                        "cannot extract '{}': {} is a directory",
                        child_rel.display(),
                        to.display()
                    ))
                }
                Some(_) => moves.push(Move::Rename { from, to }),
            }
        }
    }
    Ok(Plan { moves, locked })
}
