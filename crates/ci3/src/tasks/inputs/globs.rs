//! Globs over the work tree: `*` within a path component, `**` across directories, entered
//! component by component so that only the directories a pattern can reach are read.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::{Result, ResultExt};

pub(crate) fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{', '\\'])
}

/// A glob where `*` stays within a path component, as in the original.
pub(crate) fn glob(pattern: &str) -> Result<GlobMatcher> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| crate::err!(Failed, "invalid glob \"{pattern}\": {e}"))?
        .compile_matcher())
}

/// `patterns` as one set, each a [`glob`].
pub(crate) fn glob_set<'p>(patterns: impl IntoIterator<Item = &'p String>) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(glob(p)?.glob().clone());
    }
    set.build().map_err(|e| crate::Error::failed(e.to_string()))
}

enum Part {
    Literal(String),
    Glob(GlobMatcher),
    /// `**`: any number of directories.
    Any,
}

/// The files (and symlinks to files) below `base` matching `pattern`, relative to `base`, in no
/// order and possibly repeated (`**/**/x`): callers sort them as they need, which for many
/// files costs less than keeping a set of paths ordered component by component.
/// Directories are entered component by component, so only those the pattern can reach are
/// read; `**` does not follow symlinked directories, and `.git` is never entered.
pub(super) fn glob_files(base: &Path, pattern: &str, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut parts: Vec<Part> = Vec::new();
    for c in pattern.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let part = match c {
            "**" => Part::Any,
            c if is_glob(c) => Part::Glob(glob(c)?),
            c => {
                // Literal components in a row are one path, looked up with one stat (the
                // kernel walks it as the component-by-component walk would, symlinks included):
                // `apps/app/out/o.txt` is one stat where it was four.
                if let Some(Part::Literal(prev)) = parts.last_mut() {
                    prev.push('/');
                    prev.push_str(c);
                    continue;
                }
                Part::Literal(c.to_string())
            }
        };
        parts.push(part);
    }
    walk(base, &PathBuf::new(), &parts, out)
}

fn walk(base: &Path, rel: &Path, parts: &[Part], out: &mut Vec<PathBuf>) -> Result<()> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    // `known` is the entry's type as its directory listing gave it, which spares a stat for
    // all but symbolic links.
    let take = |next: PathBuf, known: Option<fs::FileType>, out: &mut Vec<PathBuf>| {
        let path = base.join(&next);
        if rest.is_empty() {
            if is_file_like(&path, known) {
                out.push(next);
            }
            Ok(())
        } else if match known {
            Some(ft) if !ft.is_symlink() => ft.is_dir(),
            _ => path.is_dir(),
        } {
            walk(base, &next, rest, out)
        } else {
            Ok(())
        }
    };
    match first {
        Part::Literal(name) => take(rel.join(name), None, out),
        Part::Glob(m) => {
            for (name, ft) in entries(&base.join(rel))? {
                if m.is_match(&name) {
                    take(rel.join(&name), Some(ft), out)?;
                }
            }
            Ok(())
        }
        Part::Any => {
            if !rest.is_empty() {
                walk(base, rel, rest, out)?;
            }
            for (name, ft) in entries(&base.join(rel))? {
                let next = rel.join(&name);
                if ft.is_dir() {
                    if name != ".git" {
                        walk(base, &next, parts, out)?;
                    }
                } else if rest.is_empty()
                    && (ft.is_file() || is_file_like(&base.join(&next), Some(ft)))
                {
                    out.push(next);
                }
            }
            Ok(())
        }
    }
}

/// The entries of a directory (none when it is missing), with their own type (symlinks are
/// not followed).
fn entries(dir: &Path) -> Result<Vec<(std::ffi::OsString, fs::FileType)>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
        out.push((e.file_name(), e.file_type()?));
    }
    Ok(out)
}

/// A regular file, or a symlink that does not point to a directory (a broken one included, to
/// be reported when its input is resolved). `known` is its own type when already read.
fn is_file_like(path: &Path, known: Option<fs::FileType>) -> bool {
    let Some(ft) = known.or_else(|| fs::symlink_metadata(path).ok().map(|md| md.file_type()))
    else {
        return false;
    };
    ft.is_file() || (ft.is_symlink() && !path.is_dir())
}
