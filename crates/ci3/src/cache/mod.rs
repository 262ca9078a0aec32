//! The cache flows the compat tools run: upload, download, flags. Their decision orders and
//! stderr phrases are the contract of ci3-tools.md sections 6, 7 and 9; scripts rely on them.

mod download;
mod flags;
mod upload;

use std::path::PathBuf;
use std::time::Instant;

pub use download::{download, fetch};
pub use flags::{download_flags, test_should_run, upload_flag};
pub use upload::upload;

use crate::env::non_empty;
use crate::hash::SENTINEL;

pub(crate) fn is_disabled(name: &str) -> bool {
    name.contains(SENTINEL)
}

/// `CACHE_LOCAL_DIR`, when set.
pub(crate) fn local_dir() -> Option<PathBuf> {
    non_empty("CACHE_LOCAL_DIR").map(PathBuf::from)
}

/// Whole seconds since `start`, as the original scripts print them.
pub(crate) fn seconds(start: Instant) -> u64 {
    start.elapsed().as_secs()
}
