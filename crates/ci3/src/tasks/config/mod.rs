//! The task runner's configuration: baur's `.baur.toml`, `.app.toml` and include files
//! (config versions 5, 6 and 7, whose app format is the same), read and validated before
//! anything runs, and the targets that name its tasks.
//!
//! The format is kept so existing repositories work unchanged; what differs is stricter
//! checking (unknown keys and bad paths are errors, every error one line naming file and
//! field, of kind `Config`) and no database: a `[Database]` section is accepted and ignored
//! with a notice.
//!
//! Typical use: [`find_root`], [`load_repo_config`], [`discover_apps`], then [`load_apps`]
//! with a [`Context`] that supplies the git commit for `{{ gitCommit }}` when asked; or all of
//! it at once with [`Repo::open`].

mod discover;
mod load;
pub mod model;
mod names;
pub(crate) mod paths;
mod raw;
mod repo;
pub mod targets;
mod template;
mod unclosed;

pub use discover::{discover_apps, find_root};
pub use load::{
    load_app, load_apps, load_repo_config, APP_CONFIG, CONFIG_VERSION, CONFIG_VERSIONS,
    MAX_SEARCH_DEPTH, REPO_CONFIG,
};
pub use repo::Repo;
pub use targets::TaskRef;
pub use template::Context;
