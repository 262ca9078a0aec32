//! The cache flows the compat tools run over a store: upload, download, flags, logs, verify.
//!
//! Each returns a typed outcome (what happened, or why it was skipped) and hands the phrases
//! scripts rely on to a `Reporter` as it goes; the executables print and pick exit codes.
//! What is decided before any store is touched lives in `policy`.

mod download;
mod flags;
pub mod gc;
pub mod log;
pub mod policy;
pub mod test_cache;
mod upload;
mod verify;

pub use download::{download, list, Downloaded};
pub use flags::{download_flags, test_should_run, upload_flag, FlagUpload, ShouldRun};
pub use upload::{upload, Uploaded};
pub use verify::{is_artifact, verify};

use crate::report::Reporter;
use crate::settings::Settings;
use crate::store::{LocalCache, Selected};

/// What every flow works with: the settings, the store they select, and who hears the notes.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub selected: &'a Selected,
    pub reporter: &'a dyn Reporter,
}

impl Context<'_> {
    /// The local cache, when `CACHE_LOCAL_DIR` is set and can be created; `warning` is what to
    /// say when it cannot (upload and download word it differently).
    fn local_cache(&self, warning: impl Fn(&std::path::Path) -> String) -> Option<LocalCache> {
        let dir = self.settings.local_cache.as_deref()?;
        match LocalCache::open(dir) {
            Ok(local) => Some(local.with_caps(self.selected.caps.clone())),
            Err(_) => {
                self.reporter.note(&warning(dir));
                None
            }
        }
    }
}
