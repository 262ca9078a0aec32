//! The ci3 toolbox: skip the projects of a git monorepo whose inputs did not change.
//!
//! Each module is one concern; the executables in `ci3-tools` are thin mains over them.

pub mod archive;
pub mod cache;
pub mod cli;
pub mod env;
pub mod git;
pub mod hash;
pub mod helpers;
pub mod platform;
pub mod store;
pub mod tasks;
