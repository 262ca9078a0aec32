//! Child processes and signals: commands spawned in their own process groups with signals
//! forwarded to them, the CPUs this process may use, and SIGINT/SIGTERM as a flag that long
//! transfers check.
//!
//! Every child the library starts goes through [`spawn`], so that a signal sent to a tool reaches
//! everything the tool started and a child killed by a signal is never taken for a success.

mod cpus;
pub mod signals;
mod spawn;

pub use cpus::cpus;
pub use spawn::*;
