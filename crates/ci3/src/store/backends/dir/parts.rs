//! Parted uploads of the directory store: each upload a directory `.ci3-uploads/ID/` of the
//! store (hidden from listings, shared by every server over the store) holding the object's
//! name and one file per part, concatenated into the object's atomic write at completion.

use std::fs;
use std::io;
use std::path::PathBuf;

use super::{copy, DirStore};
use crate::error::{Error, Result};
use crate::store::{Parted, Put};

/// Where the uploads in progress live, below the store's root.
const UPLOADS: &str = ".ci3-uploads";
/// The file of an upload naming the object it will become.
const NAME: &str = "name";

impl DirStore {
    /// The directory of upload `id`, which must be one this store handed out (hex digits).
    fn upload_dir(&self, id: &str) -> Result<PathBuf> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::usage(format!("no upload {id:?} here")));
        }
        Ok(self.root.join(UPLOADS).join(id))
    }

    /// The directory of upload `id` of `name`: a usage error when there is none (completed,
    /// aborted, swept) or it was begun for another object.
    fn upload_of(&self, name: &str, id: &str) -> Result<PathBuf> {
        let dir = self.upload_dir(id)?;
        match fs::read_to_string(dir.join(NAME)) {
            Ok(begun) if begun == name => Ok(dir),
            Ok(_) => Err(Error::usage(format!("upload {id} is not one of {name}"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Error::usage(format!("no upload {id} of {name}")))
            }
            Err(e) => Err(self.error("read", &dir, e)),
        }
    }
}

impl Parted for DirStore {
    fn begin(&self, name: &str) -> Result<String> {
        self.path(name)?;
        let random =
            crate::random::bytes::<16>().map_err(|e| self.error("begin", &self.root, e))?;
        let id = hex::encode(random);
        let dir = self.upload_dir(&id)?;
        fs::create_dir_all(&dir).map_err(|e| self.error("create", &dir, e))?;
        fs::write(dir.join(NAME), name).map_err(|e| self.error("write", &dir, e))?;
        Ok(id)
    }

    /// The part lands under a scratch name and is renamed into place once whole: a part
    /// re-sent after a failure replaces the old one, never mixes with it.
    fn put_part(
        &self,
        name: &str,
        id: &str,
        number: u32,
        reader: &mut dyn io::Read,
        length: u64,
    ) -> Result<String> {
        let dir = self.upload_of(name, id)?;
        let tmp = crate::scratch::file_in(&dir, "put").map_err(|e| self.error("write", &dir, e))?;
        let mut out = io::BufWriter::with_capacity(super::CHUNK, tmp.as_file());
        let written = copy(&mut io::Read::take(reader, length), &mut out)
            .and_then(|()| io::Write::flush(&mut out))
            .and_then(|()| tmp.as_file().metadata().map(|m| m.len()));
        drop(out);
        let written = written.map_err(|e| self.error("write", &dir, e))?;
        if written != length {
            return Err(Error::usage(format!(
                "part {number} of {name}: {written} of {length} bytes came"
            )));
        }
        let part = dir.join(number.to_string());
        tmp.persist(&part)
            .map_err(|e| self.error("write", &part, e.error))?;
        Ok(length.to_string())
    }

    fn complete(
        &self,
        name: &str,
        id: &str,
        parts: &[(u32, String)],
        create_only: bool,
    ) -> Result<Put> {
        let dir = self.upload_of(name, id)?;
        let mut files = Vec::with_capacity(parts.len());
        for (number, tag) in parts {
            let path = dir.join(number.to_string());
            let len = fs::metadata(&path).map(|m| m.len()).ok();
            if len.is_none_or(|len| len.to_string() != *tag) {
                return Err(Error::usage(format!(
                    "part {number} of upload {id} is missing or not the one sent"
                )));
            }
            files.push(path);
        }
        if parts.is_empty() {
            return Err(Error::usage(format!("upload {id}: no parts named")));
        }
        let put = self.publish(name, create_only, |out| {
            for path in &files {
                copy(&mut fs::File::open(path)?, out)?;
            }
            Ok(())
        })?;
        let _ = crate::scratch::remove_tree(&dir);
        Ok(put)
    }

    fn abort(&self, name: &str, id: &str) -> Result<()> {
        match self.upload_of(name, id) {
            Ok(dir) => crate::scratch::remove_tree(&dir).map_err(|e| self.error("remove", &dir, e)),
            Err(e) if e.kind() == crate::error::Kind::Usage => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// An upload's directory changes with each part written into it: one unchanged since
    /// `before` was left by a writer that is gone.
    fn sweep_uploads(&self, before: u64) -> Result<usize> {
        let root = self.root.join(UPLOADS);
        let Ok(entries) = fs::read_dir(&root) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            if modified < before && crate::scratch::remove_tree(&entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
