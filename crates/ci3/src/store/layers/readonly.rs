//! A store read but never written: a tier of `CI3_READ_STORES` (a pull-request job reads the main
//! branch's cache and must not add to it). Every write is refused here, whatever asks.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Kind, Result};
use crate::store::{Put, Store};

pub struct ReadOnly {
    inner: Box<dyn Store>,
}

impl ReadOnly {
    pub fn new(inner: Box<dyn Store>) -> ReadOnly {
        ReadOnly { inner }
    }

    fn refuse<T>(&self, what: &str, name: &str) -> Result<T> {
        Err(Error::new(
            Kind::Denied,
            format!(
                "{} is read-only here (CI3_READ_STORES): not {what} {name}",
                self.inner.describe()
            ),
        ))
    }
}

impl Store for ReadOnly {
    fn describe(&self) -> String {
        format!("{} (read-only)", self.inner.describe())
    }

    fn local_root(&self) -> Option<&Path> {
        self.inner.local_root()
    }

    fn can_write(&self) -> bool {
        false
    }

    fn exists(&self, name: &str) -> Result<bool> {
        self.inner.exists(name)
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        self.inner.get(name, out)
    }

    fn put_file(&self, name: &str, _: &Path, _: bool) -> Result<Put> {
        self.refuse("writing", name)
    }

    fn put_reader(&self, name: &str, _: &mut dyn Read, _: bool) -> Result<Put> {
        self.refuse("writing", name)
    }

    fn put_bytes(&self, name: &str, _: &[u8], _: bool) -> Result<Put> {
        self.refuse("writing", name)
    }

    fn delete(&self, name: &str) -> Result<bool> {
        self.refuse("deleting", name)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix)
    }

    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        self.inner.list_sorted(prefix, after, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    #[test]
    fn reads_pass_and_writes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DirStore::new(tmp.path().to_path_buf());
        dir.put_bytes("a.flag", b"x", false).unwrap();
        let ro = ReadOnly::new(Box::new(DirStore::new(tmp.path().to_path_buf())));
        assert!(ro.exists("a.flag").unwrap());
        let err = ro.put_bytes("b.flag", b"y", false).unwrap_err();
        assert_eq!(err.kind(), Kind::Denied);
        assert!(err.to_string().contains("read-only"), "{err}");
        assert!(ro.delete("a.flag").is_err());
        assert!(!tmp.path().join("b.flag").exists());
        assert!(tmp.path().join("a.flag").exists());
    }
}
