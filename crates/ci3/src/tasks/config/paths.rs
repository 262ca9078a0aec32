//! Paths as the configuration writes them (`/`-separated, relative to a directory of the
//! repository) and as messages show them (relative to the root).

use std::path::{Component, Path, PathBuf};

use crate::Result;

/// `path` relative to `root` for messages (`"."` for the root itself), or as is when outside.
pub(super) fn shown(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => path.display().to_string(),
    }
}

/// `base/rel` (both relative to the root) without `.` and `..` components, or `None` when
/// it climbs above the root. Purely textual: globs are not files yet.
pub(crate) fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// A path of the repository written in a configuration file: relative to `base` (a directory
/// relative to the root), or absolute inside the root as `{{ .Root }}/...` produces.
/// The error, of kind `Config`, is the problem alone: the caller names the file and field.
pub(super) fn in_repo(root: &Path, base: &str, written: &str) -> Result<String> {
    if written.is_empty() {
        crate::fail!(Config, "must not be empty");
    }
    if Path::new(written).is_absolute() {
        return match Path::new(written).strip_prefix(root) {
            Ok(rel) => join(".", &rel.to_string_lossy())
                .ok_or_else(|| crate::err!(Config, "\"{written}\" leaves the repository")),
            Err(_) => Err(crate::err!(
                Config,
                "\"{written}\" is outside the repository"
            )),
        };
    }
    join(base, written).ok_or_else(|| crate::err!(Config, "\"{written}\" leaves the repository"))
}

/// An output path written relative to the app dir `app_dir` (relative to the root), or absolute
/// inside it: the path relative to the app dir, without `.` and `..` components. Outputs are
/// read from there into the shared store and restored there, so one that leaves the app dir is
/// refused as an input that leaves the repository is. The error is the problem alone.
pub(super) fn in_app_dir(root: &Path, app_dir: &str, written: &str) -> Result<String> {
    let absolute = Path::new(written).is_absolute();
    let from_root = if absolute {
        Path::new(written)
            .strip_prefix(root)
            .ok()
            .and_then(|rel| join(".", &rel.to_string_lossy()))
    } else {
        join(app_dir, written)
    };
    let inside = from_root.as_deref().and_then(|p| match app_dir {
        "." => (p != ".").then_some(p),
        dir => p.strip_prefix(dir)?.strip_prefix('/'),
    });
    match inside {
        Some(rel) => Ok(rel.to_string()),
        None if absolute => crate::fail!(Config, "\"{written}\" is outside the app directory"),
        None => crate::fail!(Config, "\"{written}\" leaves the app directory"),
    }
}

/// `path` without `.` and `..` components, without touching the file system (include files
/// are named, then read; symlinks among them are taken as they are).
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalises_and_refuses_climbing_out() {
        assert_eq!(
            join("apps/calc", "src/**/*.c").as_deref(),
            Some("apps/calc/src/**/*.c")
        );
        assert_eq!(
            join("apps/calc", "../lib/./x.h").as_deref(),
            Some("apps/lib/x.h")
        );
        assert_eq!(join(".", "x").as_deref(), Some("x"));
        assert_eq!(join("a", "..").as_deref(), Some("."));
        assert_eq!(join("a", "../../x"), None);
    }

    #[test]
    fn in_repo_takes_absolute_paths_under_the_root_only() {
        let root = Path::new("/r");
        assert_eq!(in_repo(root, "a", "/r/go.mod").unwrap(), "go.mod");
        assert_eq!(
            in_repo(root, "a", "/etc/passwd").unwrap_err().to_string(),
            "\"/etc/passwd\" is outside the repository"
        );
        assert_eq!(
            in_repo(root, "a", "").unwrap_err().to_string(),
            "must not be empty"
        );
    }

    #[test]
    fn in_app_dir_refuses_what_leaves_the_app_dir() {
        let root = Path::new("/r");
        assert_eq!(in_app_dir(root, "a", "out/../out/x").unwrap(), "out/x");
        assert_eq!(in_app_dir(root, "a", "/r/a/dist/x").unwrap(), "dist/x");
        assert_eq!(in_app_dir(root, ".", "x").unwrap(), "x");
        let err = |dir, p| in_app_dir(root, dir, p).unwrap_err().to_string();
        assert_eq!(err("a", "../b/x"), "\"../b/x\" leaves the app directory");
        assert_eq!(err("a", "../../x"), "\"../../x\" leaves the app directory");
        assert_eq!(err("a", ".."), "\"..\" leaves the app directory");
        assert_eq!(err(".", "../x"), "\"../x\" leaves the app directory");
        assert_eq!(
            err("a", "/r/b/x"),
            "\"/r/b/x\" is outside the app directory"
        );
        assert_eq!(
            err("a", "/home/u/f"),
            "\"/home/u/f\" is outside the app directory"
        );
        assert_eq!(err("ab", "../a/x"), "\"../a/x\" leaves the app directory");
    }

    #[test]
    fn shown_is_root_relative() {
        let root = Path::new("/r");
        assert_eq!(shown(root, Path::new("/r")), ".");
        assert_eq!(shown(root, Path::new("/r/a/.app.toml")), "a/.app.toml");
        assert_eq!(shown(root, Path::new("/x")), "/x");
    }
}
