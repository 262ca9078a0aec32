//! A lazy reader of git's index file for the hot path of the dirty check.
//!
//! Decoding every entry of a 100,000-file index (what `gix-index` does) costs more than the rest
//! of a clean-tree check; here the file is mapped, one pass records where each entry starts (or
//! the table an earlier pass saved is used, see `index_table`), and an entry's fields are read
//! only when it is looked at. Versions 2 and 3 are read in place;
//! version 4 (prefix-compressed paths) is decoded by gix and re-encoded as version 3 in memory,
//! so there is one reader. The trailing checksum is not verified (Turborepo skips it too).

use std::path::Path;

use crate::error::{Error, IoAt, Result};
use crate::{err, fail};
use gix::ObjectId;
use memmap2::Mmap;

use super::entry::Mode;
use super::index_table::{self, Scan, Table};

/// The file's bytes: mapped in place, or re-encoded.
enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
    Empty,
}

pub struct Index {
    bytes: Bytes,
    /// Where each entry starts, in index order (sorted by path, then stage).
    offsets: Offsets,
    hash_len: usize,
    /// The root tree id the cached-tree extension records, when valid.
    tree: Option<ObjectId>,
    /// Whether any entry is an unresolved conflict or intent-to-add.
    has_special: bool,
    /// Modification time of the file, seconds: the racy-git reference.
    pub mtime_secs: i64,
}

enum Offsets {
    Scanned(Vec<u32>),
    Saved(Table),
}

impl Offsets {
    fn len(&self) -> usize {
        match self {
            Offsets::Scanned(v) => v.len(),
            Offsets::Saved(t) => t.len(),
        }
    }

    fn get(&self, i: usize) -> usize {
        match self {
            Offsets::Scanned(v) => v[i] as usize,
            Offsets::Saved(t) => t.get(i) as usize,
        }
    }
}

/// One entry's fields, read on demand.
pub struct IndexEntry<'a> {
    pub path: &'a [u8],
    pub id: ObjectId,
    raw_mode: u32,
    flags: u16,
    ext_flags: u16,
    pub ctime_secs: u32,
    pub mtime_secs: u32,
    pub ino: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u32,
}

const ASSUME_VALID: u16 = 0x8000;
const EXTENDED: u16 = 0x4000;
const SKIP_WORKTREE: u16 = 0x4000;
const INTENT_TO_ADD: u16 = 0x2000;

impl IndexEntry<'_> {
    pub fn mode(&self) -> Option<Mode> {
        match self.raw_mode & 0o170000 {
            0o160000 => Some(Mode::Gitlink),
            0o120000 => Some(Mode::Symlink),
            0o100000 if self.raw_mode & 0o100 != 0 => Some(Mode::Executable),
            0o100000 => Some(Mode::File),
            _ => None,
        }
    }

    pub fn stage(&self) -> u16 {
        (self.flags >> 12) & 3
    }

    pub fn assume_valid(&self) -> bool {
        self.flags & ASSUME_VALID != 0
    }

    pub fn skip_worktree(&self) -> bool {
        self.ext_flags & SKIP_WORKTREE != 0
    }

    pub fn intent_to_add(&self) -> bool {
        self.ext_flags & INTENT_TO_ADD != 0
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}

impl Index {
    /// Reads the index of `repo`; a repository without one has an empty index. Entry offsets
    /// are remembered in `table_dir` (see `index_table`).
    pub fn open_with_tables(repo: &gix::Repository, table_dir: &Path) -> Result<Index> {
        let path = repo.index_path();
        let hash_len = repo.object_hash().len_in_bytes();
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Index {
                    bytes: Bytes::Empty,
                    offsets: Offsets::Scanned(Vec::new()),
                    hash_len,
                    tree: None,
                    has_special: false,
                    mtime_secs: 0,
                })
            }
            Err(e) => return Err(e).at("cannot read the git index", &path),
        };
        let mtime_secs = {
            use std::os::unix::fs::MetadataExt;
            file.metadata().at("cannot stat", &path)?.mtime()
        };
        // SAFETY: git replaces the index by renaming a new file over it, never by rewriting it in
        // place, so the mapped inode does not change under us.
        let map = unsafe { Mmap::map(&file) }.at("cannot map the git index", &path)?;
        let version = if map.len() >= 12 && &map[..4] == b"DIRC" {
            be32(&map, 4)
        } else {
            0
        };
        let bytes = match version {
            2 | 3 => Bytes::Mapped(map),
            4 => Bytes::Owned(reencode(&path, repo.object_hash())?),
            _ => {
                let message = format!(
                    "{}: not a git index file (or an unknown version)",
                    path.display()
                );
                return Err(Error::io(&path, message));
            }
        };
        let mut index = Index {
            bytes,
            offsets: Offsets::Scanned(Vec::new()),
            hash_len,
            tree: None,
            has_special: false,
            mtime_secs,
        };
        let data = index.data();
        let count = be32(data, 8) as usize;
        // The checksum names this exact content; without one (skipHash) there is nothing to key on.
        let checksum = data
            .len()
            .checked_sub(hash_len)
            .map(|at| &data[at..])
            .filter(|sum| matches!(index.bytes, Bytes::Mapped(_)) && sum.iter().any(|&b| b != 0));
        if let Some(table) =
            checksum.and_then(|sum| index_table::load(table_dir, &path, sum, count))
        {
            index.tree = table.tree;
            index.has_special = table.has_special;
            index.offsets = Offsets::Saved(table);
            return Ok(index);
        }
        let scan = scan(data, hash_len)
            .map_err(|e| Error::io(&path, format!("{}: corrupt git index: {e}", path.display())))?;
        if let Some(sum) = checksum {
            index_table::save(table_dir, &path, sum, &scan);
        }
        index.tree = scan.tree;
        index.has_special = scan.has_special;
        index.offsets = Offsets::Scanned(scan.offsets);
        Ok(index)
    }

    fn data(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
            Bytes::Empty => &[],
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether the entry offsets came from a table saved by an earlier run.
    pub fn offsets_were_saved(&self) -> bool {
        matches!(self.offsets, Offsets::Saved(_))
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.len() == 0
    }

    pub fn path(&self, i: usize) -> &[u8] {
        let data = self.data();
        let at = self.offsets.get(i);
        let flags_at = at + 40 + self.hash_len;
        let flags = be16(data, flags_at);
        let name_at = flags_at + 2 + if flags & EXTENDED != 0 { 2 } else { 0 };
        let name_len = match (flags & 0xfff) as usize {
            0xfff => data[name_at..].iter().position(|&b| b == 0).unwrap_or(0),
            n => n,
        };
        &data[name_at..name_at + name_len]
    }

    pub fn entry(&self, i: usize) -> IndexEntry<'_> {
        let data = self.data();
        let at = self.offsets.get(i);
        let flags_at = at + 40 + self.hash_len;
        let flags = be16(data, flags_at);
        IndexEntry {
            path: self.path(i),
            id: ObjectId::from_bytes_or_panic(&data[at + 40..flags_at]),
            raw_mode: be32(data, at + 24),
            flags,
            ext_flags: if flags & EXTENDED != 0 {
                be16(data, flags_at + 2)
            } else {
                0
            },
            ctime_secs: be32(data, at),
            mtime_secs: be32(data, at + 8),
            ino: be32(data, at + 20),
            uid: be32(data, at + 28),
            gid: be32(data, at + 32),
            size: be32(data, at + 36),
        }
    }

    /// The positions of the entries whose path starts with `prefix`.
    pub fn prefixed(&self, prefix: &[u8]) -> std::ops::Range<usize> {
        let lo = self.partition_point(0, |p| p < prefix);
        let hi = self.partition_point(lo, |p| p.starts_with(prefix));
        lo..hi
    }

    /// Whether an entry (of any stage) has exactly this path.
    pub fn contains(&self, path: &[u8]) -> bool {
        let i = self.partition_point(0, |p| p < path);
        i < self.len() && self.path(i) == path
    }

    /// The first position at or after `from` where `pred` on the path turns false.
    fn partition_point(&self, from: usize, pred: impl Fn(&[u8]) -> bool) -> usize {
        let (mut lo, mut hi) = (from, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.path(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Whether the index holds exactly the entries of `tree`: its cached root tree is valid,
    /// equals `tree`, and no entry is a conflict or intent-to-add.
    pub fn is_tree(&self, tree: ObjectId) -> bool {
        !self.has_special && self.tree == Some(tree)
    }
}

/// Records entry offsets, then reads the extensions that matter.
fn scan(data: &[u8], hash_len: usize) -> Result<Scan> {
    let count = be32(data, 8) as usize;
    let fixed = 40 + hash_len + 2;
    let mut offsets = Vec::with_capacity(count);
    let mut has_special = false;
    let mut at = 12;
    for _ in 0..count {
        let flags_at = at + 40 + hash_len;
        if flags_at + 2 > data.len() {
            fail!(Io, "truncated entries");
        }
        let flags = be16(data, flags_at);
        let ext = if flags & EXTENDED != 0 { 2 } else { 0 };
        if ext != 0 && be16(data, flags_at + 2) & INTENT_TO_ADD != 0 || (flags >> 12) & 3 != 0 {
            has_special = true;
        }
        let name_at = at + fixed + ext;
        let name_len = match (flags & 0xfff) as usize {
            0xfff => data
                .get(name_at..)
                .and_then(|d| d.iter().position(|&b| b == 0))
                .ok_or_else(|| err!(Io, "truncated path"))?,
            n => n,
        };
        offsets.push(u32::try_from(at).map_err(|e| err!(Io, "index larger than 4 GiB: {e}"))?);
        // Entries are NUL-padded to a multiple of 8 bytes, with at least one NUL.
        at += (fixed + ext + name_len + 8) & !7;
    }
    if at > data.len() {
        fail!(Io, "truncated entries");
    }
    let end = data.len().saturating_sub(hash_len);
    let mut tree = None;
    while at + 8 <= end {
        let (sig, size) = (&data[at..at + 4], be32(data, at + 4) as usize);
        let body = data
            .get(at + 8..at + 8 + size)
            .ok_or_else(|| err!(Io, "truncated extension"))?;
        match sig {
            b"TREE" => tree = root_tree(body, hash_len),
            b"link" => fail!(Io, "split indexes (core.splitIndex) are not supported; run `git update-index --no-split-index`"),
            b"sdir" => fail!(Io, "sparse indexes are not supported; run `git sparse-checkout init --no-sparse-index`"),
            _ => {}
        }
        at += 8 + size;
    }
    Ok(Scan {
        offsets,
        has_special,
        tree,
    })
}

/// The root id of a cached-tree extension, when the root is valid (entry count not -1).
fn root_tree(body: &[u8], hash_len: usize) -> Option<ObjectId> {
    let nul = body.iter().position(|&b| b == 0)?;
    if nul != 0 {
        return None;
    }
    let nl = body.iter().position(|&b| b == b'\n')?;
    let counts = std::str::from_utf8(&body[1..nl]).ok()?;
    let entries: i64 = counts.split(' ').next()?.parse().ok()?;
    if entries < 0 {
        return None;
    }
    body.get(nl + 1..nl + 1 + hash_len)
        .map(ObjectId::from_bytes_or_panic)
}

/// Decodes an index gix can read but this reader cannot (version 4) and writes it as version
/// 2/3 into memory.
fn reencode(path: &Path, kind: gix::hash::Kind) -> Result<Vec<u8>> {
    let file = gix::index::File::at(path, kind, true, Default::default()).map_err(|e| {
        Error::io(
            path,
            format!("cannot read the git index {}: {e}", path.display()),
        )
    })?;
    let mut out = Vec::new();
    let options = gix::index::write::Options {
        extensions: gix::index::write::Extensions::All,
        skip_hash: true,
    };
    file.write_to(&mut out, options).map_err(|e| {
        Error::io(
            path,
            format!("cannot re-encode the git index {}: {e}", path.display()),
        )
    })?;
    Ok(out)
}
