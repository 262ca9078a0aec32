//! What the compat tools decide before they touch a store, decided once: the sentinel,
//! `NO_CACHE`, `NO_CACHE_UPLOAD`, and the `CI`/`S3_FORCE_UPLOAD` gate for remote writes.

use crate::hash::SENTINEL;
use crate::settings::Settings;
use crate::store::Selected;

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

/// Whether a write goes to the configured store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteWrite {
    /// Write; `create_only` unless `S3_FORCE_UPLOAD` asks to replace.
    Yes { create_only: bool },
    /// A shared store at `CI=0` without `S3_FORCE_UPLOAD`: a developer's machine does not fill it.
    NotInCi,
    /// The store needs credentials that are missing.
    NoCredentials,
}

/// The gate for artifacts and logs: a directory store always takes writes; a shared store only
/// with `CI=1` or `S3_FORCE_UPLOAD`, and only with credentials.
pub fn remote_write(settings: &Settings, selected: &Selected) -> RemoteWrite {
    if !selected.is_dir && !settings.ci && !settings.force_upload {
        RemoteWrite::NotInCi
    } else if !selected.store.can_write() {
        RemoteWrite::NoCredentials
    } else {
        RemoteWrite::Yes {
            create_only: !settings.force_upload,
        }
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
            is_dir: true,
            caps: Default::default(),
            trust: Default::default(),
        };
        assert_eq!(
            remote_write(&settings(&[]), &dir),
            RemoteWrite::Yes { create_only: true }
        );
        assert_eq!(
            remote_write(&settings(&[("S3_FORCE_UPLOAD", "1")]), &dir),
            RemoteWrite::Yes { create_only: false }
        );
        let shared = Selected {
            store: Box::new(DirStore::new("/nonexistent".into())),
            is_dir: false,
            caps: Default::default(),
            trust: Default::default(),
        };
        assert_eq!(remote_write(&settings(&[]), &shared), RemoteWrite::NotInCi);
        assert_eq!(
            remote_write(&settings(&[("CI", "1")]), &shared),
            RemoteWrite::Yes { create_only: true }
        );
    }
}
