//! The task runner's configuration: baur's `.baur.toml`, `.app.toml` and include files
//! (config versions 5, 6 and 7, whose app format is the same), read and validated before
//! anything runs.
//!
//! The format is kept so existing repositories work unchanged; what differs is stricter
//! checking (unknown keys and bad paths are errors, every error one line naming file and
//! field) and no database: a `[Database]` section is accepted and ignored with a notice.
//!
//! Typical use: [`find_root`], [`load_repo_config`], [`discover_apps`], then [`load_apps`]
//! with a [`Context`] that supplies the git commit for `{{ gitCommit }}` when asked.

mod config;
pub mod diff;
mod discover;
pub mod docker;
pub mod format;
mod golang;
pub mod inputs;
mod model;
mod paths;
pub mod prune;
mod raw;
pub mod records;
mod repo;
pub mod restore;
pub mod run;
pub mod status;
pub mod targets;
mod template;

pub use config::{
    load_app, load_apps, load_repo_config, APP_CONFIG, CONFIG_VERSION, CONFIG_VERSIONS,
    MAX_SEARCH_DEPTH, REPO_CONFIG,
};
pub use discover::{discover_apps, find_root};
pub use model::*;
pub use repo::Repo;
pub use template::Context;
