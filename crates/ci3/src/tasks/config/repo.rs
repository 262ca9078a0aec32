//! A repository ready for the task tools: its root, its apps loaded, and its git checkout.

use std::path::{Path, PathBuf};

use super::discover::{discover_apps, find_root};
use super::load::{load_apps, load_repo_config};
use super::model::App;
use super::targets::{select, TaskRef};
use super::template::Context;
use crate::git::Checkout;
use crate::settings::Settings;
use crate::Result;

pub struct Repo {
    /// Canonical.
    pub root: PathBuf,
    /// Sorted by name.
    pub apps: Vec<App>,
    /// One-line notices about the configuration, for the tool to print.
    pub notices: Vec<String>,
}

impl Repo {
    /// Finds the root at or above `start` and loads every app; any configuration error (kind
    /// `Config`) stops here, before anything runs.
    pub fn open(start: &Path, settings: &Settings) -> Result<Repo> {
        let root = find_root(start)?;
        let config = load_repo_config(&root)?;
        let dirs = discover_apps(&root, &config)?;
        let commit_root = root.clone();
        let ctx = Context::new(&root, settings, move || {
            crate::git::head_commit(&commit_root)
                .ok_or_else(|| crate::err!(Config, "the repository has no commit yet"))
        });
        let apps = load_apps(&ctx, &dirs)?;
        Ok(Repo {
            root,
            apps,
            notices: config.notices,
        })
    }

    /// The tasks `targets` name (all of them when empty), paths taken relative to `cwd`.
    pub fn select(&self, cwd: &Path, targets: &[String]) -> Result<Vec<TaskRef<'_>>> {
        select(&self.root, cwd, &self.apps, targets)
    }

    /// The absolute path of an app directory (`dir` relative to the root, `.` for the root).
    pub fn app_path(&self, dir: &str) -> PathBuf {
        if dir == "." {
            self.root.clone()
        } else {
            self.root.join(dir)
        }
    }

    /// The git checkout the root is in (its top level may be above the root).
    pub fn checkout(&self, settings: &Settings) -> Result<Checkout> {
        Checkout::open(&self.root, true, &settings.state().git_index())
    }
}
