//! The name and link checks of safe extraction: no `..`, no absolute names, no links out.
//!
//! These checks are lexical and exact because extraction keeps the rest structurally true:
//! every directory an entry passes through is one this archive created (never a symlink, since
//! symlinks are only created after all other entries), and a staged directory never lands on a
//! pre-existing symlink in OUT_DIR. So a path that is lexically beneath the root really is.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Why a name or link is refused: the reason an [`super::ArchiveError::Unsafe`] gives.
#[derive(Debug)]
pub(crate) struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Refusal> for String {
    fn from(r: Refusal) -> String {
        r.0
    }
}

fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal(reason.into())
}

/// An entry name as a path relative to OUT_DIR: `Ok(None)` for the root itself (`./`, which
/// GNU tar writes for `tar -C dir .`), `Err(reason)` for a name that must be refused.
///
/// Absolute names are refused rather than stripped: GNU tar strips a leading `/` when it
/// creates archives (and so does `pack`), so only `tar -P` archives carry one, and that is
/// what cache-poisoning attacks use.
pub(crate) fn entry_path(name: &[u8]) -> Result<Option<PathBuf>, Refusal> {
    if name.is_empty() {
        return Err(refuse("empty name"));
    }
    if name[0] == b'/' {
        return Err(refuse("absolute path"));
    }
    let mut path = PathBuf::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(refuse("'..' component")),
            _ => path.push(OsStr::from_bytes(part)),
        }
    }
    Ok((!path.as_os_str().is_empty()).then_some(path))
}

/// Whether a symlink at `link` (relative to OUT_DIR) may point at `target`.
///
/// A target must be relative, and `..` may only lead it: `../../lib/x` is fine while there are
/// enough directories above the link, `a/../..` is refused even where it would stay inside,
/// because `a` could be a symlink (now, or after a later extraction) and then `..` climbs from
/// wherever it points. With only leading `..`, the climb goes through the link's own parent
/// directories, which are real directories beneath OUT_DIR.
pub(crate) fn check_symlink(link: &Path, target: &[u8]) -> Result<(), Refusal> {
    let shown = String::from_utf8_lossy(target);
    if target.is_empty() {
        return Err(refuse("symlink with an empty target"));
    }
    if target[0] == b'/' {
        return Err(refuse(format!("symlink to the absolute path '{shown}'")));
    }
    let depth = link.parent().map_or(0, |p| p.components().count());
    let mut climbs = 0usize;
    let mut descended = false;
    for part in target.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if descended => {
                return Err(refuse(format!(
                "symlink target '{shown}' has '..' after a name (only leading '..' are accepted)"
            )))
            }
            b".." => {
                climbs += 1;
                if climbs > depth {
                    return Err(refuse(format!(
                        "symlink target '{shown}' points outside the output directory"
                    )));
                }
            }
            _ => descended = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let ok = |n: &str| entry_path(n.as_bytes()).unwrap();
        assert_eq!(ok("a/b/c"), Some(PathBuf::from("a/b/c")));
        assert_eq!(ok("./a//b/"), Some(PathBuf::from("a/b")));
        assert_eq!(ok("./"), None);
        assert_eq!(ok("."), None);
        for bad in ["", "/etc/passwd", "//x", "../x", "a/../../x", "a/.."] {
            assert!(entry_path(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn symlink_targets() {
        let check = |link: &str, t: &str| check_symlink(Path::new(link), t.as_bytes());
        assert!(check("lib/libx.so", "libx.so.1").is_ok());
        assert!(check("a/b/l", "../../c/d").is_ok());
        assert!(check("a/b/l", "./../x").is_ok());
        assert!(check("node_modules/.bin/x", "../pkg/bin/x").is_ok());
        assert!(check("l", ".").is_ok());
        assert!(check("l", "..").is_err());
        assert!(check("a/l", "../..").is_err());
        assert!(check("a/l", "/").is_err());
        assert!(check("a/l", "/etc/passwd").is_err());
        assert!(check("a/l", "b/../c").is_err());
        assert!(check("a/l", "").is_err());
    }
}
