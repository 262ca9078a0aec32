//! Every gate decided before a store is touched, decided here once: the sentinel, `NO_CACHE`,
//! `NO_CACHE_UPLOAD`, the `CI`/`S3_FORCE_UPLOAD` write policy of artifacts and logs, and the CI
//! gate of recorded passes (success flags, the test cache).

use crate::hash::SENTINEL;
use crate::settings::Settings;
use crate::store::{Reach, Selected, Store};

/// A name carrying the sentinel is never uploaded and never found.
pub fn is_disabled(name: &str) -> bool {
    name.contains(SENTINEL)
}

/// Why a read is a miss before any store is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSkip {
    /// The name carries the sentinel (uncommitted changes).
    Sentinel,
    /// `NO_CACHE=1`.
    NoCache,
}

/// Whether reading `name` is skipped outright.
pub fn read_skip(settings: &Settings, name: &str) -> Option<ReadSkip> {
    if is_disabled(name) {
        Some(ReadSkip::Sentinel)
    } else if settings.no_cache {
        Some(ReadSkip::NoCache)
    } else {
        None
    }
}

/// Why an upload does nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadSkip {
    Sentinel,
    /// `NO_CACHE_UPLOAD=1`.
    NoCacheUpload,
}

pub fn upload_skip(settings: &Settings, name: &str) -> Option<UploadSkip> {
    if is_disabled(name) {
        Some(UploadSkip::Sentinel)
    } else if settings.no_cache_upload {
        Some(UploadSkip::NoCacheUpload)
    } else {
        None
    }
}

/// May the configured store be written from here, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePolicy {
    /// Write a new object only, keeping one already there.
    Create,
    /// Write over what is there (`S3_FORCE_UPLOAD`, or a record that replaces an older one).
    Replace,
    /// A shared store at `CI=0` without `S3_FORCE_UPLOAD`: a developer's machine does not fill it.
    NotInCi,
    /// The store needs credentials that are missing.
    NoCredentials,
}

impl WritePolicy {
    /// Whether anything is written.
    pub fn writes(self) -> bool {
        matches!(self, WritePolicy::Create | WritePolicy::Replace)
    }

    /// Whether a write keeps an object already there.
    pub fn create_only(self) -> bool {
        self != WritePolicy::Replace
    }
}

/// The gate for artifacts and logs: this machine's directory store always takes writes; a
/// shared store only with `CI=1` or `S3_FORCE_UPLOAD`, and only with credentials.
pub fn write_policy(settings: &Settings, selected: &Selected) -> WritePolicy {
    if selected.reach == Reach::Shared && !settings.ci && !settings.force_upload {
        WritePolicy::NotInCi
    } else if !selected.store.can_write() {
        WritePolicy::NoCredentials
    } else if settings.force_upload {
        WritePolicy::Replace
    } else {
        WritePolicy::Create
    }
}

/// Whether this run records passes (success flags, test-cache entries) and skips what passed:
/// only in CI. A developer's machine is not a reference, and a local run runs every test.
pub fn counts_passes(settings: &Settings) -> bool {
    settings.ci
}

/// The gate for a test-cache entry: in CI, with credentials; a new pass replaces an older one.
pub fn pass_write(settings: &Settings, store: &dyn Store) -> WritePolicy {
    if !counts_passes(settings) {
        WritePolicy::NotInCi
    } else if !store.can_write() {
        WritePolicy::NoCredentials
    } else {
        WritePolicy::Replace
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_vars(vars.iter().copied())
    }

    #[test]
    fn reads_skip_on_the_sentinel_and_no_cache() {
        assert_eq!(
            read_skip(&settings(&[]), "a-disabled-cache.zst"),
            Some(ReadSkip::Sentinel)
        );
        assert_eq!(
            read_skip(&settings(&[("NO_CACHE", "1")]), "a.zst"),
            Some(ReadSkip::NoCache)
        );
        assert_eq!(read_skip(&settings(&[("NO_CACHE", "0")]), "a.zst"), None);
    }

    #[test]
    fn the_directory_store_always_takes_writes() {
        let dir = Selected {
            store: Box::new(DirStore::new("/nonexistent".into())),
            reach: Reach::Machine,
            caps: Default::default(),
            trust: Default::default(),
            server: None,
        };
        assert_eq!(write_policy(&settings(&[]), &dir), WritePolicy::Create);
        assert_eq!(
            write_policy(&settings(&[("S3_FORCE_UPLOAD", "1")]), &dir),
            WritePolicy::Replace
        );
        let shared = Selected {
            store: Box::new(DirStore::new("/nonexistent".into())),
            reach: Reach::Shared,
            caps: Default::default(),
            trust: Default::default(),
            server: None,
        };
        assert_eq!(write_policy(&settings(&[]), &shared), WritePolicy::NotInCi);
        assert_eq!(
            write_policy(&settings(&[("CI", "1")]), &shared),
            WritePolicy::Create
        );
    }
}
