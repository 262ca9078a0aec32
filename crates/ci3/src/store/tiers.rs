//! The store a job writes (`CI3_STORE`) with read-only tiers behind it (`CI3_READ_STORES`),
//! read in order on a miss: a pull-request job reads the main branch's cache and writes only
//! its own. Writes and deletes go to the first store alone.

use std::io::{Read, Write};
use std::path::Path;

use super::{Put, ReadOnly, Store};
use crate::error::Result;

pub struct Tiered {
    write: Box<dyn Store>,
    read: Vec<ReadOnly>,
}

impl Tiered {
    pub fn new(write: Box<dyn Store>, read: Vec<ReadOnly>) -> Tiered {
        Tiered { write, read }
    }

    /// Every tier, the written one first.
    fn tiers(&self) -> impl Iterator<Item = &dyn Store> {
        std::iter::once(self.write.as_ref()).chain(self.read.iter().map(|r| r as &dyn Store))
    }
}

impl Store for Tiered {
    fn describe(&self) -> String {
        let read: Vec<String> = self.read.iter().map(|r| r.describe()).collect();
        format!("{}, then {}", self.write.describe(), read.join(", then "))
    }

    fn local_root(&self) -> Option<&Path> {
        self.write.local_root()
    }

    fn can_write(&self) -> bool {
        self.write.can_write()
    }

    fn exists(&self, name: &str) -> Result<bool> {
        for tier in self.tiers() {
            if tier.exists(name)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        // A miss writes nothing to `out`, so the next tier's bytes are the whole object.
        for tier in self.tiers() {
            if tier.get(name, out)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> Result<Put> {
        self.write.put_file(name, src, create_only)
    }

    fn put_reader(&self, name: &str, reader: &mut dyn Read, create_only: bool) -> Result<Put> {
        self.write.put_reader(name, reader, create_only)
    }

    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> Result<Put> {
        self.write.put_bytes(name, bytes, create_only)
    }

    fn delete(&self, name: &str) -> Result<bool> {
        self.write.delete(name)
    }

    fn read_tiers(&self) -> Option<Vec<&dyn Store>> {
        Some(self.tiers().collect())
    }

    /// The written store's objects only: what a caller lists is what it may delete.
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.write.list(prefix)
    }

    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        self.write.list_sorted(prefix, after, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    #[test]
    fn reads_fall_through_in_order_and_writes_stay_in_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path().join("pr");
        let main = tmp.path().join("main");
        DirStore::new(main.clone())
            .put_bytes("a.flag", b"main", false)
            .unwrap();
        let tiers = Tiered::new(
            Box::new(DirStore::new(own.clone())),
            vec![ReadOnly::new(Box::new(DirStore::new(main.clone())))],
        );
        assert!(tiers.exists("a.flag").unwrap());
        let mut got = Vec::new();
        assert!(tiers.get("a.flag", &mut got).unwrap());
        assert_eq!(got, b"main");
        tiers.put_bytes("b.flag", b"pr", false).unwrap();
        assert!(own.join("b.flag").exists() && !main.join("b.flag").exists());
        assert!(!tiers.exists("c.flag").unwrap());
    }
}
