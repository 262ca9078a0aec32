//! The local tarball cache (`CACHE_LOCAL_DIR`): a directory of artifacts named as in the store,
//! kept under the size and age caps, written only by rename or link so that a partial file
//! never counts as a hit.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::store::check_name;

/// A directory of artifacts named as in the store.
pub struct LocalCache {
    pub(super) dir: PathBuf,
    caps: Option<crate::store::evict::Caps>,
}

impl LocalCache {
    /// The cache in `dir`, created if missing.
    pub fn open(dir: &Path) -> Result<LocalCache> {
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(dir, format!("cannot create {}: {e}", dir.display())))?;
        // What killed transfers left here.
        crate::scratch::sweep(dir, &["download", "upload"], &|_| Ok(()));
        Ok(LocalCache {
            dir: dir.to_path_buf(),
            caps: None,
        })
    }

    /// This cache, kept under `caps` (least recently used copies evicted after writes).
    pub fn with_caps(mut self, caps: crate::store::evict::Caps) -> Self {
        self.caps = Some(caps);
        self
    }

    /// Keeps the cache under its caps after `written` bytes were added.
    pub(super) fn added(&self, written: u64) {
        if let Some(caps) = &self.caps {
            caps.after_write(&self.dir, written);
        }
    }

    /// The cache in `dir` as it is, for a question that must not create anything.
    pub fn existing(dir: &Path) -> LocalCache {
        LocalCache {
            dir: dir.to_path_buf(),
            caps: None,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn path(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.dir.join(name))
    }

    /// Whether a copy of `name` is here.
    pub fn has(&self, name: &str) -> bool {
        self.path(name).is_ok_and(|p| p.is_file())
    }

    /// A temporary file in the cache directory, so that keeping it is a rename.
    pub(super) fn scratch(&self, purpose: &str) -> io::Result<NamedTempFile> {
        crate::scratch::file_in(&self.dir, purpose)
    }
}

/// Links the finished scratch file to `dest`, replacing an older copy: the new archive is as
/// good and was just built.
pub(super) fn keep_copy(scratch: &Path, dest: &Path) -> io::Result<()> {
    shareable(&File::open(scratch)?)?;
    match fs::hard_link(scratch, dest) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(dest).and_then(|()| fs::hard_link(scratch, dest))
        }
        other => other,
    }
}

/// Temporary files are private; a cache directory is shared like the store's files (0644).
pub(super) fn shareable(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}
