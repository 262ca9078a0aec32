//! `rebuild_needed NAME`: whether an artifact must be rebuilt, and what changed since the
//! nearest earlier build of the same project.

use std::path::PathBuf;

use crate::cache::policy::{self, ReadSkip};
use crate::hash::manifest;
use crate::report::Reporter;
use crate::settings::Settings;
use crate::store::{Layered, LocalCache, Selected, Source};
use crate::Error;

/// Where the answer came from; every case but `Local` and `Stored` means "rebuild".
pub enum Verdict {
    /// The name carries the sentinel: uncommitted changes disable the cache.
    Sentinel,
    /// `NO_CACHE=1`.
    NoCache,
    /// In the local cache, this directory.
    Local(PathBuf),
    /// In the store.
    Stored,
    /// Not in the store.
    Missing,
    /// The store could not be asked: a rebuild, never "cached".
    Unknown(Error),
}

impl Verdict {
    pub fn rebuild(&self) -> bool {
        !matches!(self, Verdict::Local(_) | Verdict::Stored)
    }
}

/// Whether artifact `name` must be rebuilt: the local cache first, then the store.
pub fn decide(
    settings: &Settings,
    selected: &Selected,
    reporter: &dyn Reporter,
    name: &str,
) -> Verdict {
    match policy::read_skip(settings, name) {
        Some(ReadSkip::Sentinel) => return Verdict::Sentinel,
        Some(ReadSkip::NoCache) => return Verdict::NoCache,
        None => {}
    }
    let local = settings.local_cache.as_deref().map(LocalCache::existing);
    let layered = Layered::new(local, Some(selected.store.as_ref()), reporter);
    match layered.exists(name) {
        Ok(Some(Source::Local)) => {
            let dir = layered.local().map(|l| l.dir().to_path_buf());
            Verdict::Local(dir.unwrap_or_default())
        }
        Ok(Some(Source::Store)) => Verdict::Stored,
        Ok(None) => Verdict::Missing,
        Err(err) => Verdict::Unknown(err),
    }
}

/// What changed since the newest stored manifest of the same project as `name`.
pub enum Explanation {
    /// No earlier build of the project has a manifest.
    NoEarlier,
    /// The store could not be searched.
    Unsearchable(Error),
    /// Artifact `artifact` has one, but the inputs now could not be resolved.
    Uncomparable { artifact: String, err: Error },
    /// The changes since `artifact`, as [`manifest::diff`] gives them.
    Changes {
        artifact: String,
        changes: Vec<(char, String)>,
    },
}

/// Compares the inputs on disk with those of the nearest earlier build of `name`'s project.
pub fn explain(settings: &Settings, selected: &Selected, name: &str) -> Explanation {
    let store = selected.store.as_ref();
    let (artifact, manifest) = match manifest::nearest(name, store, &selected.trust) {
        Ok(Some(found)) => found,
        Ok(None) => return Explanation::NoEarlier,
        Err(err) => return Explanation::Unsearchable(err),
    };
    match manifest::current(settings, &manifest.patterns) {
        Ok(now) => Explanation::Changes {
            changes: manifest::diff(&manifest.entries, &now),
            artifact,
        },
        Err(err) => Explanation::Uncomparable { artifact, err },
    }
}
