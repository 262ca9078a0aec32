//! The ci3 toolbox: skip the projects of a git monorepo whose inputs did not change.
//!
//! Each module is one concern; the executables in `ci3-tools` are thin mains over them.

pub mod archive;
pub mod cache;
pub mod cli;
pub mod content;
pub mod env;
pub mod ere;
pub mod git;
pub mod hashing;
pub mod helpers;
pub mod index;
mod index_table;
pub mod key;
pub mod manifest;
pub mod patterns;
pub mod platform;
pub mod status;
pub mod store;
pub mod tasks;
mod walk;
