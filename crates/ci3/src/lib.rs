//! The ci3 toolbox: skip the projects of a git monorepo whose inputs did not change.
//!
//! Each module is one concern; the executables in `ci3-tools` are thin mains over them. Settings
//! come in once (`settings`), errors go out as one type (`error`), and what an operation has to
//! say while it runs goes to a `report::Reporter`: the library itself never prints.

pub mod archive;
pub mod cache;
pub mod ci3_api;
pub mod clock;
pub mod digest;
pub mod error;
pub mod git;
pub mod hash;
pub mod helpers;
pub mod ledger;
pub mod platform;
pub mod process;
pub mod random;
pub mod remote;
pub mod report;
pub mod scratch;
pub mod server;
pub mod settings;
pub mod state;
pub mod store;
pub mod tasks;
pub mod trace;
pub mod trust;

pub use error::{Error, IoAt, Kind, Result, ResultExt};
