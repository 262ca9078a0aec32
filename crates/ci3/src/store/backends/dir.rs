//! The directory store: one file per object, the embedded default.
//!
//! Writes go to a temporary file in the same directory, then are published atomically: by
//! `rename` to overwrite, by `link` to create only (it fails when the name exists), so
//! concurrent writers never leave a torn object and exactly one create-only writer wins.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Kind, Result};
use crate::store::{check_name, Parted, Put, Store};

mod parts;

/// The size of reads and writes: large, so that a store on disk keeps up with archiving.
const CHUNK: usize = 1 << 20;

/// Copies in `CHUNK`-sized reads (the standard copy reads 8 KiB at a time).
fn copy(reader: &mut dyn io::Read, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.write_all(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// How much is written before its writeback to disk is started.
const WRITEBACK: u64 = 8 << 20;

/// A file being written that asks the kernel to start writing each `WRITEBACK` bytes to disk as
/// soon as they are written, so the `fsync` that makes the object durable before it is published
/// waits for the last few MiB only, not for the whole artifact after archiving ends.
struct EarlyWriteback<'a> {
    file: &'a fs::File,
    written: u64,
    started: u64,
}

impl Write for EarlyWriteback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK {
            use std::os::fd::AsRawFd;
            // Only a hint: where it is not supported, the final fsync does all the work.
            // SAFETY: the descriptor is open for as long as `self.file` is borrowed.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.started as libc::off64_t,
                    (self.written - self.started) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

pub struct DirStore {
    root: PathBuf,
    /// Size and age caps, kept after each write; none for a store used as plain storage.
    caps: Option<crate::store::evict::Caps>,
}

impl DirStore {
    pub fn new(root: PathBuf) -> Self {
        DirStore { root, caps: None }
    }

    /// This store, kept under `caps` (least recently used artifacts evicted after writes).
    pub fn with_caps(mut self, caps: crate::store::evict::Caps) -> Self {
        self.caps = Some(caps);
        self
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.root.join(name))
    }

    fn error(&self, what: &str, path: &Path, err: io::Error) -> Error {
        let failure = if err.kind() == io::ErrorKind::PermissionDenied {
            Kind::Denied
        } else {
            Kind::Store
        };
        Error::new(failure, format!("cannot {what} {}: {err}", path.display()))
    }

    /// Streams object `name` into `out`; `sized`, when given, hears its length first.
    fn read(
        &self,
        name: &str,
        sized: Option<&mut dyn FnMut(u64)>,
        out: &mut dyn Write,
    ) -> Result<bool> {
        let path = self.path(name)?;
        let mut file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.error("read", &path, e)),
        };
        if let Some(sized) = sized {
            // A length promised up front needs a regular file; a plain read streams whatever
            // is there, as it always did (the fault tests put a FIFO under an object's name).
            let md = file.metadata().map_err(|e| self.error("read", &path, e))?;
            if !md.is_file() {
                return Ok(false);
            }
            sized(md.len());
        }
        crate::store::evict::touch(&file);
        // A failure to pass the bytes on is the reader's, not the store's.
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match io::Read::read(&mut file, &mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.error("read", &path, e)),
            };
            out.write_all(&buf[..n]).map_err(|e| {
                Error::new(Kind::Io, format!("cannot pass on {}: {e}", path.display()))
            })?;
        }
    }

    /// Writes `fill`'s output to a temporary file beside `name`, then publishes it.
    fn publish(
        &self,
        name: &str,
        create_only: bool,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<Put> {
        let dest = self.path(name)?;
        let dir = dest.parent().expect("a store path has a parent");
        fs::create_dir_all(dir).map_err(|e| self.error("create", dir, e))?;
        // What killed writers left here.
        crate::scratch::sweep(dir, &["put"], &|_| Ok(()));
        let tmp =
            crate::scratch::file_in(dir, "put").map_err(|e| self.error("write into", dir, e))?;
        // Large writes: many small ones cost more than the archiving that feeds them.
        let mut out = io::BufWriter::with_capacity(
            CHUNK,
            EarlyWriteback {
                file: tmp.as_file(),
                written: 0,
                started: 0,
            },
        );
        fill(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| self.error("write", &dest, e))?;
        drop(out);
        // Temporary files are private; a store is shared like any cache directory.
        tmp.as_file()
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(|e| self.error("write", &dest, e))?;
        tmp.as_file()
            .sync_data()
            .map_err(|e| self.error("write", &dest, e))?;
        let written = tmp.as_file().metadata().map_or(0, |m| m.len());
        let put = if create_only {
            match fs::hard_link(tmp.path(), &dest) {
                Ok(()) => Put::Created,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Put::AlreadyExists,
                Err(e) => return Err(self.error("write", &dest, e)),
            }
        } else {
            tmp.persist(&dest)
                .map_err(|e| self.error("write", &dest, e.error))?;
            Put::Created
        };
        if let (Put::Created, Some(caps)) = (put, &self.caps) {
            caps.after_write(&self.root, written);
        }
        Ok(put)
    }

    /// The files whose name starts with `prefix`, in subdirectories too (scratch files left
    /// out), each with its modification time when `with_age`.
    fn below(&self, prefix: &str, with_age: bool) -> Result<Vec<(Option<SystemTime>, String)>> {
        let (dir, start) = prefix
            .rsplit_once('/')
            .map_or(("", prefix), |(d, s)| (d, s));
        let mut found = Vec::new();
        let mut todo = vec![(dir.to_string(), start)];
        while let Some((dir, start)) = todo.pop() {
            let path = if dir.is_empty() {
                self.root.clone()
            } else {
                self.path(&dir)?
            };
            let read = match fs::read_dir(&path) {
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.error("list", &path, e)),
            };
            for entry in read.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with(start) || name.starts_with(".ci3-") {
                    continue;
                }
                let full = if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                };
                match entry.file_type() {
                    Ok(t) if t.is_dir() => todo.push((full, "")),
                    Ok(t) if t.is_file() => {
                        let modified = with_age
                            .then(|| entry.metadata().and_then(|m| m.modified()).ok())
                            .flatten();
                        found.push((modified, full));
                    }
                    _ => {}
                }
            }
        }
        Ok(found)
    }
}

impl Store for DirStore {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn local_root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn exists(&self, name: &str) -> Result<bool> {
        let path = self.path(name)?;
        match fs::metadata(&path) {
            Ok(md) => Ok(md.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.error("read", &path, e)),
        }
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        self.read(name, None, out)
    }

    fn size(&self, name: &str) -> Result<Option<u64>> {
        let path = self.path(name)?;
        match fs::metadata(&path) {
            Ok(md) if md.is_file() => Ok(Some(md.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error("read", &path, e)),
        }
    }

    /// The length is the open file's: a replacement published meanwhile is another file.
    fn get_sized(
        &self,
        name: &str,
        sized: &mut dyn FnMut(u64),
        out: &mut dyn Write,
    ) -> Result<bool> {
        self.read(name, Some(sized), out)
    }

    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> Result<Put> {
        let mut input = fs::File::open(src).map_err(|e| self.error("read", src, e))?;
        self.publish(name, create_only, |out| copy(&mut input, out))
    }

    fn put_reader(&self, name: &str, reader: &mut dyn io::Read, create_only: bool) -> Result<Put> {
        self.publish(name, create_only, |out| copy(reader, out))
    }

    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> Result<Put> {
        self.publish(name, create_only, |out| out.write_all(bytes))
    }

    /// Every object below the prefix, in subdirectories too, as an S3 listing without a
    /// delimiter gives them.
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut found = self.below(prefix, true)?;
        found.sort();
        Ok(found.into_iter().map(|(_, name)| name).collect())
    }

    /// By name alone: no file's age is read.
    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .below(prefix, false)?
            .into_iter()
            .map(|(_, name)| name)
            .filter(|n| after.is_none_or(|a| n.as_str() > a))
            .collect();
        names.sort();
        names.truncate(max);
        Ok(names)
    }

    fn parted(&self) -> Option<&dyn Parted> {
        Some(self)
    }

    fn delete(&self, name: &str) -> Result<bool> {
        let path = self.path(name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.error("delete", &path, e)),
        }
    }
}
