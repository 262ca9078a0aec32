//! Reading a git checkout in-process: the committed tree, the index, and what differs on disk.
//!
//! Callers say which paths count through a `PathFilter`; the walk never reads a directory the
//! filter rules out.

mod checkout;
mod disk;
mod entry;
mod files;
mod filter;
mod index;
mod index_table;
mod object;
mod status;
mod walk;

pub use checkout::{head_commit, toplevel, Checkout};
pub use entry::{os_path, Entry, Mode};
pub use files::{FileId, FileIds};
pub use filter::{PathFilter, Under};
pub use index::Index;
pub use object::{blob_id, blob_id_of_reader};
pub use status::{dirty_paths, scan_head, HeadScan};
