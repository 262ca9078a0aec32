//! Finding the repository root and the app directories under it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Result;

use super::load::{app_name, APP_CONFIG, REPO_CONFIG};
use super::model::{AppDir, RepoConfig};
use super::paths;

/// The nearest directory at or above `start` holding `.baur.toml`. `start` is resolved to its
/// real path first, so that the root (and `{{ .Root }}`) does not depend on how it was reached.
pub fn find_root(start: &Path) -> Result<PathBuf> {
    let start =
        std::fs::canonicalize(start).map_err(|e| crate::err!(Usage, "{}: {e}", start.display()))?;
    start
        .ancestors()
        .find(|dir| dir.join(REPO_CONFIG).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            crate::err!(
                Usage,
                "no {REPO_CONFIG} found in {} or any directory above it",
                start.display()
            )
        })
}

/// The app directories under the configured application dirs, at most `search_depth` levels
/// down (symlinked directories and `.git` are not entered), sorted by app name. Each
/// `.app.toml` is parsed and validated here, so a broken one stops everything early.
pub fn discover_apps(root: &Path, repo: &RepoConfig) -> Result<Vec<AppDir>> {
    let mut files = Vec::new();
    for (i, dir) in repo.application_dirs.iter().enumerate() {
        let path = root.join(dir);
        if !path.is_dir() {
            crate::fail!(
                Config,
                "{REPO_CONFIG}: Discover.application_dirs[{i}]: \"{dir}\" is not a directory"
            );
        }
        walk(root, &path, repo.search_depth, &mut files)?;
    }
    files.sort();
    files.dedup(); // overlapping application dirs
    let mut apps: BTreeMap<String, AppDir> = BTreeMap::new();
    for file in files {
        let name = app_name(root, &file)?;
        let dir = paths::shown(root, file.parent().unwrap_or(root));
        if let Some(other) = apps.get(&name) {
            crate::fail!(
                Config,
                "app name \"{name}\" is used by both {} and {}",
                paths::shown(root, &other.config_file),
                paths::shown(root, &file)
            );
        }
        apps.insert(
            name.clone(),
            AppDir {
                name,
                dir,
                config_file: file,
            },
        );
    }
    Ok(apps.into_values().collect())
}

fn walk(root: &Path, dir: &Path, depth: u32, out: &mut Vec<PathBuf>) -> Result<()> {
    let config = dir.join(APP_CONFIG);
    if config.is_file() {
        out.push(config);
    }
    if depth == 0 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| crate::err!(Io, "cannot read directory {}: {e}", paths::shown(root, dir)))?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            crate::err!(Io, "cannot read directory {}: {e}", paths::shown(root, dir))
        })?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && entry.file_name() != ".git" {
            walk(root, &entry.path(), depth - 1, out)?;
        }
    }
    Ok(())
}
