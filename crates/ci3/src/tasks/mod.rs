//! The task runner (baur's configuration and command line over the ci3 store), by concern:
//! `config` reads and validates `.baur.toml`, `.app.toml` and include files and names tasks,
//! `inputs` resolves a task's inputs to digests, `records` keeps runs in the store, `run` runs
//! tasks, and one module per question a tool asks (status, restore, diff, verify, prune, runs).
//!
//! Typical use: [`Repo::open`], [`Repo::select`], then [`status::evaluate`] and [`run::run_all`].

pub mod config;
pub mod diff;
pub mod graph;
pub mod inputs;
pub mod prune;
pub mod records;
pub mod restore;
pub mod run;
pub mod runs;
pub mod status;
pub mod statuses;
pub mod verify;

pub use config::model::*;
pub use config::targets;
pub use config::{
    discover_apps, find_root, load_app, load_apps, load_repo_config, Context, Repo, APP_CONFIG,
    CONFIG_VERSION, CONFIG_VERSIONS, MAX_SEARCH_DEPTH, REPO_CONFIG,
};
