//! Child processes and signals: commands spawned in their own process groups with signals
//! forwarded to them, the CPUs this process may use and pinning children to some of them, and
//! SIGINT/SIGTERM as a flag that long transfers check.
//!
//! Every child the library starts goes through [`spawn`], so that a signal sent to a tool reaches
//! everything the tool started and a child killed by a signal is never taken for a success.
//!
//! The two signal mechanisms stay apart on purpose. Forwarding ([`spawn`]) blocks SIGINT,
//! SIGTERM and SIGHUP in every thread and takes them with `sigwait` on a thread of its own: the
//! helper does nothing itself and ends when its children do. The flag ([`signals`]) is a handler,
//! so it works whatever threads a store client started before it, and the transfer that checks
//! it keeps running to clean up (abort a multipart upload, remove temporary files). One
//! installation for both would either block signals in threads that were created before it (and
//! so leave them to kill the process) or run a handler in a helper that must only forward. No
//! tool installs both: `cache_upload` and `cache_download` spawn no children, and the helpers
//! never install the flag (a test-cache write of theirs checks it, but nothing sets it there).

mod cpus;
pub mod signals;
mod spawn;

pub use cpus::{allowed_cores, cpus, parse_cpu_list, pin, Cores};
pub use spawn::*;
