//! Where each entry of a git index starts, remembered between runs.
//!
//! Index entries have variable length and git writes no table of their offsets by default
//! (`index.recordOffsetTable` is off), so finding them takes a pass over the whole file: on a
//! 100,000-file index that pass is a tenth of a content hash. The table is kept per index file in
//! the tools' cache directory and carries the checksum git writes at the end of the index, so a
//! changed index is never read with a stale table. A missing, foreign or damaged table only costs
//! the pass; indexes written without a checksum (`index.skipHash`) are always scanned.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use memmap2::Mmap;

const MAGIC: &[u8; 8] = b"ci3idx1\0";

/// What a pass over the entries found.
pub(crate) struct Scan {
    /// Where each entry starts, in index order.
    pub offsets: Vec<u32>,
    /// Whether any entry is an unresolved conflict or intent-to-add.
    pub has_special: bool,
    /// The root tree id the cached-tree extension records, when valid.
    pub tree: Option<ObjectId>,
}

/// A saved table, mapped: the entry offsets are read in place.
pub(crate) struct Table {
    map: Mmap,
    offsets_at: usize,
    count: usize,
    pub has_special: bool,
    pub tree: Option<ObjectId>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn get(&self, i: usize) -> u32 {
        let at = self.offsets_at + 4 * i;
        u32::from_le_bytes(self.map[at..at + 4].try_into().expect("4 bytes"))
    }
}

/// The file that holds the table of the index at `index_path`, in `dir`.
fn table_path(dir: &Path, index_path: &Path) -> PathBuf {
    let key = blake3::hash(index_path.as_os_str().as_encoded_bytes());
    dir.join(&key.to_hex()[..32])
}

/// The table saved for this index file, when it is intact and matches the index's `checksum`
/// and entry `count`.
pub(crate) fn load(dir: &Path, index_path: &Path, checksum: &[u8], count: usize) -> Option<Table> {
    let file = fs::File::open(table_path(dir, index_path)).ok()?;
    // SAFETY: tables are replaced by renaming a complete new file over the old one, never
    // rewritten in place.
    let map = unsafe { Mmap::map(&file) }.ok()?;
    let hash_len = checksum.len();
    let body = MAGIC.len() + 32;
    let offsets_at = body + hash_len + 4 + 2 + hash_len;
    if map.len() != offsets_at + 4 * count || &map[..MAGIC.len()] != MAGIC {
        return None;
    }
    let mut at = body;
    if &map[at..at + hash_len] != checksum {
        return None;
    }
    at += hash_len;
    if u32::from_le_bytes(map[at..at + 4].try_into().ok()?) as usize != count {
        return None;
    }
    // Only a table exactly as a scan of this index wrote it is trusted with offsets into it.
    if blake3::hash(&map[body..]).as_bytes()[..] != map[MAGIC.len()..body] {
        return None;
    }
    let (has_special, has_tree) = (map[at + 4] != 0, map[at + 5] != 0);
    at += 6;
    let tree = has_tree.then(|| ObjectId::from_bytes_or_panic(&map[at..at + hash_len]));
    Some(Table {
        map,
        offsets_at,
        count,
        has_special,
        tree,
    })
}

/// Saves `scan` for the index at `index_path`; best effort, as the table is only a shortcut.
pub(crate) fn save(dir: &Path, index_path: &Path, checksum: &[u8], scan: &Scan) {
    let write = || -> std::io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut bytes = Vec::with_capacity(128 + 4 * scan.offsets.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[0; 32]);
        let body = bytes.len();
        bytes.extend_from_slice(checksum);
        bytes.extend_from_slice(&(scan.offsets.len() as u32).to_le_bytes());
        bytes.push(u8::from(scan.has_special));
        bytes.push(u8::from(scan.tree.is_some()));
        match &scan.tree {
            Some(id) if id.as_bytes().len() == checksum.len() => {
                bytes.extend_from_slice(id.as_bytes())
            }
            Some(_) => return Ok(()),
            None => bytes.extend(std::iter::repeat_n(0, checksum.len())),
        }
        for offset in &scan.offsets {
            bytes.extend_from_slice(&offset.to_le_bytes());
        }
        let digest = blake3::hash(&bytes[body..]);
        bytes[MAGIC.len()..body].copy_from_slice(digest.as_bytes());
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&bytes)?;
        tmp.persist(table_path(dir, index_path))?;
        Ok(())
    };
    let _ = write();
}
