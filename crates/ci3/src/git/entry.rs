//! What a checkout is made of: entries with a path, a mode and an object id.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use gix::ObjectId;

/// A file-like entry of a tree, the index or the work tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Slash-separated, relative to the hashing root.
    pub path: Vec<u8>,
    pub mode: Mode,
    pub id: ObjectId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    File,
    Executable,
    Symlink,
    /// A submodule, recorded by its pinned commit.
    Gitlink,
}

impl Mode {
    /// The mode as `git ls-tree` prints it.
    pub fn octal(self) -> &'static str {
        match self {
            Mode::File => "100644",
            Mode::Executable => "100755",
            Mode::Symlink => "120000",
            Mode::Gitlink => "160000",
        }
    }

    pub(crate) fn from_tree(mode: gix::object::tree::EntryMode) -> Option<Mode> {
        use gix::object::tree::EntryKind;
        match mode.kind() {
            EntryKind::Tree => None,
            EntryKind::Blob => Some(Mode::File),
            EntryKind::BlobExecutable => Some(Mode::Executable),
            EntryKind::Link => Some(Mode::Symlink),
            EntryKind::Commit => Some(Mode::Gitlink),
        }
    }
}

/// A path given as git's bytes (paths are bytes on unix; git never reencodes them).
pub fn os_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}
