//! The content ids of files a caller picked in the work tree: read from the index when the
//! file's stat data matches its entry, computed from the bytes otherwise.
//!
//! The index is read once and shared by every lookup, so asking for the files of many tasks
//! costs one `lstat` per file and no read of an unchanged one.

use std::fs;
use std::path::Path;

use crate::error::Result;
use gix::ObjectId;

use super::checkout::Checkout;
use super::disk::{Disk, State};
use super::entry::Mode;
use super::index::Index;

/// What a file of the work tree is, as git would record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub mode: Mode,
    /// The blob id of the bytes (of the link text for a symlink).
    pub id: ObjectId,
    /// Whether the index has an entry for the path.
    pub tracked: bool,
}

/// Lookups against one read of the index.
pub struct FileIds<'a> {
    /// The hashing root relative to the top level, as the index names paths.
    prefix: Vec<u8>,
    /// Where paths relative to the hashing root are on disk.
    root: std::path::PathBuf,
    index: Index,
    disk: Disk<'a>,
}

impl<'a> FileIds<'a> {
    pub fn open(co: &'a Checkout) -> Result<Self> {
        let index = co.index()?;
        let disk = Disk::new(co, index.mtime_secs);
        Ok(FileIds {
            prefix: co.prefix.clone(),
            root: co.workdir.join(super::os_path(&co.prefix)),
            index,
            disk,
        })
    }

    fn position(&self, path: &[u8]) -> Option<usize> {
        let mut full = self.prefix.clone();
        full.extend_from_slice(path);
        let range = self.index.prefixed(&full);
        range
            .clone()
            .find(|&i| self.index.path(i) == full.as_slice() && self.index.entry(i).stage() == 0)
    }

    /// Whether `path` (relative to the hashing root) has an index entry.
    pub fn is_tracked(&self, path: &[u8]) -> bool {
        self.position(path).is_some()
    }

    /// The file at `path` (relative to the hashing root), whose `lstat` is `md`; `None` when it
    /// is neither a regular file nor a symlink.
    pub fn id(&self, path: &[u8], md: &fs::Metadata) -> Result<Option<FileId>> {
        let disk_path = self.root.join(super::os_path(path));
        match self.position(path) {
            Some(i) => {
                let e = self.index.entry(i);
                if self.disk.unchanged(&e, md) {
                    return Ok(e.mode().map(|mode| FileId {
                        mode,
                        id: e.id,
                        tracked: true,
                    }));
                }
                Ok(match self.disk.state(&e, &disk_path, Some(md.clone()))? {
                    State::Clean => e.mode().map(|mode| FileId {
                        mode,
                        id: e.id,
                        tracked: true,
                    }),
                    State::Changed(mode, id) => Some(FileId {
                        mode,
                        id,
                        tracked: true,
                    }),
                    State::Deleted => self.untracked(&disk_path, md)?,
                })
            }
            None => self.untracked(&disk_path, md),
        }
    }

    fn untracked(&self, disk_path: &Path, md: &fs::Metadata) -> Result<Option<FileId>> {
        Ok(self
            .disk
            .untracked(disk_path, Some(md.clone()))?
            .map(|(mode, id)| FileId {
                mode,
                id,
                tracked: false,
            }))
    }

    /// The directory paths are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }
}
