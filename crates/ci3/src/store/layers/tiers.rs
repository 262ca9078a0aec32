//! The store a job writes (`CI3_STORE`) with read-only tiers behind it (`CI3_READ_STORES`),
//! read in order on a miss: a pull-request job reads the main branch's cache and writes only
//! its own. Writes and deletes go to the first store alone.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Kind, Result};
use crate::report::Reporter;
use crate::store::{Put, ReadOnly, Store};

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
        self.read_each(&mut |tier| tier.exists(name), None)
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        // A miss writes nothing to `out`, so the next tier's bytes are the whole object.
        self.read_each(&mut |tier| tier.get(name, out), None)
    }

    /// Tier by tier, so that an object a checking reader refuses in one tier (a pull request's
    /// own unsigned write) does not hide a trusted one behind it.
    fn read_each(
        &self,
        read: &mut dyn FnMut(&dyn Store) -> Result<bool>,
        reporter: Option<&dyn Reporter>,
    ) -> Result<bool> {
        let last = self.read.len();
        for (i, tier) in self.tiers().enumerate() {
            match read(tier) {
                Ok(false) => {}
                Err(err) if err.kind() == Kind::Untrusted && i < last => {
                    if let Some(reporter) = reporter {
                        reporter.note(&format!(
                            "{err} (in {}); trying the next store.",
                            tier.describe()
                        ));
                    }
                }
                other => return other,
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

    /// The written store's objects only: what a caller lists is what it may delete.
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.write.list(prefix)
    }

    /// Every tier's names, merged: a sorted listing is a question about what can be read (a
    /// task's history, its latest success), and the first `max` names of the union are among
    /// the first `max` of each tier.
    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for tier in self.tiers() {
            names.extend(tier.list_sorted(prefix, after, max)?);
        }
        names.sort();
        names.dedup();
        names.truncate(max);
        Ok(names)
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

    #[test]
    fn a_sorted_listing_merges_every_tier_and_pages() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = |name: &str| DirStore::new(tmp.path().join(name));
        for (store, names) in [
            ("own", &["p/2", "p/5", "p/9"][..]),
            ("main", &["p/1", "p/5", "p/7", "q/0"][..]),
            ("old", &["p/2", "p/3", "p/7"][..]),
        ] {
            for name in names {
                dir(store).put_bytes(name, b"", true).unwrap();
            }
        }
        let tiers = Tiered::new(
            Box::new(dir("own")),
            vec![
                ReadOnly::new(Box::new(dir("main"))),
                ReadOnly::new(Box::new(dir("old"))),
            ],
        );
        let page = |after: Option<&str>, max| tiers.list_sorted("p/", after, max).unwrap();
        assert_eq!(page(None, 100), ["p/1", "p/2", "p/3", "p/5", "p/7", "p/9"]);
        assert_eq!(page(None, 3), ["p/1", "p/2", "p/3"]);
        assert_eq!(page(Some("p/3"), 2), ["p/5", "p/7"]);
        assert_eq!(page(Some("p/7"), 2), ["p/9"]);
        assert_eq!(page(Some("p/9"), 2), Vec::<String>::new());
        assert_eq!(page(None, 0), Vec::<String>::new());
        // What may be deleted is the written store's alone.
        assert_eq!(tiers.list("p/").unwrap().len(), 3);
    }

    #[test]
    fn an_untrusted_object_gives_way_to_the_next_tier() {
        let tmp = tempfile::tempdir().unwrap();
        let (own, main) = (tmp.path().join("pr"), tmp.path().join("main"));
        DirStore::new(own.clone())
            .put_bytes("a", b"unsigned", true)
            .unwrap();
        DirStore::new(main.clone())
            .put_bytes("a", b"signed", true)
            .unwrap();
        let tiers = Tiered::new(
            Box::new(DirStore::new(own)),
            vec![ReadOnly::new(Box::new(DirStore::new(main)))],
        );
        let notes = crate::report::Collect::default();
        let mut got = Vec::new();
        let found = tiers.read_each(
            &mut |tier| {
                let mut bytes = Vec::new();
                if !tier.get("a", &mut bytes)? {
                    return Ok(false);
                }
                if bytes == b"unsigned" {
                    return Err(crate::Error::new(Kind::Untrusted, "not signed"));
                }
                got = bytes;
                Ok(true)
            },
            Some(&notes),
        );
        assert!(found.unwrap());
        assert_eq!(got, b"signed");
        let said = notes.0.lock().unwrap().join("\n");
        assert!(said.contains("not signed (in directory "), "{said}");
        assert!(said.ends_with("trying the next store."), "{said}");
    }
}
