//! Which paths a walk of the checkout keeps: the one question the git layer asks of patterns.

use super::index::IndexEntry;

/// Decides which repo-relative paths count. Implemented by the ci3 rebuild patterns and by the
/// task runner's globs, so both share one walk of the tree, the index and the disk.
pub trait PathFilter: Sync {
    /// Whether `path` (slash-separated, relative to the hashing root) is kept.
    fn is_match(&self, path: &[u8]) -> bool;
    /// Which paths below `dir_prefix` (ending in `/`) can be kept.
    fn under(&self, dir_prefix: &[u8]) -> Under;
    /// Whether any path below `dir_prefix` can be kept.
    fn may_match_under(&self, dir_prefix: &[u8]) -> bool {
        self.under(dir_prefix) != Under::None
    }
}

/// Which paths below a directory match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under {
    /// None can.
    None,
    /// Every one does: the directory's path alone is a match.
    All,
    /// It depends on the rest of the path.
    Some,
}

/// An index entry whose path matches.
pub(crate) struct Matched<'i> {
    pub entry: IndexEntry<'i>,
    /// Relative to the top level.
    pub full: &'i [u8],
    /// Relative to the hashing root.
    pub path: &'i [u8],
}
