//! The local tarball cache (`CACHE_LOCAL_DIR`) as a layer in front of any store.
//!
//! Reads come from a local copy when there is one, else from the store while a copy is written
//! beside them, kept only once the caller has checked the bytes; a local copy the caller finds
//! corrupt or untrusted is dropped and the store asked instead. Writes go to the local cache and the store at
//! once. Local-cache files are always written to a temporary name and renamed or linked, so a
//! partial file never counts as a hit.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use tempfile::NamedTempFile;

use super::local::{keep_copy, shareable, LocalCache};
use crate::error::{Error, Kind, Result};
use crate::report::{Counting, Reporter};
use crate::store::{check_name, Put, Store};

/// Where a read was served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Local,
    Store,
}

/// What a write did in each layer.
pub struct Written<T> {
    /// What the producer returned.
    pub value: T,
    /// The store's answer, when there is a store to write to.
    pub remote: Option<Result<Put>>,
}

/// A local cache (optional) in front of a store (optional: a write may go to the local cache
/// alone).
pub struct Layered<'a> {
    local: Option<LocalCache>,
    store: Option<&'a dyn Store>,
    reporter: &'a dyn Reporter,
}

impl<'a> Layered<'a> {
    /// `local` in front of `store`; `reporter` hears what each read and write did.
    pub fn new(
        local: Option<LocalCache>,
        store: Option<&'a dyn Store>,
        reporter: &'a dyn Reporter,
    ) -> Layered<'a> {
        Layered {
            local,
            store,
            reporter,
        }
    }

    /// The local cache in front, if any.
    pub fn local(&self) -> Option<&LocalCache> {
        self.local.as_ref()
    }

    /// Where `name` is: the local cache first, then the store.
    pub fn exists(&self, name: &str) -> Result<Option<Source>> {
        if self.local.as_ref().is_some_and(|l| l.has(name)) {
            return Ok(Some(Source::Local));
        }
        match self.store {
            Some(store) if store.exists(name)? => Ok(Some(Source::Store)),
            _ => Ok(None),
        }
    }

    /// Streams `name` into `consume`: from the local copy when there is one (dropped if
    /// `consume` finds it corrupt), else from the store. A copy of what the store sent is kept
    /// in the local cache only when `consume` succeeded. `Ok(None)` on a miss.
    pub fn read<T: Send>(
        &self,
        name: &str,
        consume: impl Fn(&mut dyn Read) -> Result<T> + Sync,
    ) -> Result<Option<(T, Source)>> {
        check_name(name)?;
        if let Some(local) = &self.local {
            let path = local.path(name)?;
            // Opened, not checked first: an eviction between the two would fail the read.
            let hit = match File::open(&path) {
                Ok(file) if file.metadata().is_ok_and(|m| m.is_file()) => Some(file),
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => {
                    let warning = format!(
                        "Warning: cannot read {}: {e}; downloading from remote.",
                        path.display()
                    );
                    self.reporter.note(&warning);
                    None
                }
            };
            if let Some(file) = hit {
                self.reporter.note(&format!("Local cache hit for {name}."));
                crate::store::evict::touch(&file);
                match consume(&mut BufReader::with_capacity(1 << 20, file)) {
                    Ok(value) => return Ok(Some((value, Source::Local))),
                    Err(err) if matches!(err.kind(), Kind::Corrupt | Kind::Untrusted) => {
                        // A damaged or untrusted copy must not keep counting as a hit.
                        let _ = fs::remove_file(&path);
                        self.reporter.note(&format!(
                            "Local cache copy of {name} is {err}; removed it, downloading from remote."
                        ));
                    }
                    Err(err) => return Err(err),
                }
            } else {
                self.reporter.note(&format!(
                    "Local cache miss for {name}, downloading from remote."
                ));
            }
        }
        let Some(store) = self.store else {
            return Ok(None);
        };
        let mut found = None;
        store.read_each(
            &mut |tier| {
                found = self.fetch(tier, name, &consume)?;
                Ok(found.is_some())
            },
            Some(self.reporter),
        )?;
        Ok(found)
    }

    /// Streams `name` from `store` into `consume`, keeping a local copy when it succeeded.
    fn fetch<T: Send>(
        &self,
        store: &dyn Store,
        name: &str,
        consume: &(impl Fn(&mut dyn Read) -> Result<T> + Sync),
    ) -> Result<Option<(T, Source)>> {
        let keep = self
            .local
            .as_ref()
            .and_then(|l| match l.scratch("download") {
                Ok(tmp) => Some(tmp),
                Err(e) => {
                    self.reporter.note(&format!(
                        "Warning: cannot write into the local cache {}: {e}; going on without it.",
                        l.dir.display()
                    ));
                    None
                }
            });
        let (reader, writer) =
            io::pipe().map_err(|e| Error::new(Kind::Io, format!("cannot create a pipe: {e}")))?;
        let progress = self.reporter.transfer(name, None);
        let (fetched, consumed) = std::thread::scope(|s| {
            let consumer = s.spawn(|| {
                let mut reader = BufReader::with_capacity(1 << 20, reader);
                consume(&mut reader)
            });
            let mut tee = Tee {
                pipe: Some(writer),
                keep: keep.as_ref().map(NamedTempFile::as_file),
                keep_failed: false,
            };
            let fetched = store.get(
                name,
                &mut Counting {
                    inner: &mut tee,
                    progress: progress.as_ref(),
                },
            );
            let keep_failed = tee.keep_failed;
            drop(tee); // the end of the stream for the consumer
            let consumed = consumer.join().expect("the reading thread panicked");
            ((fetched, keep_failed), consumed)
        });
        let (fetched, keep_failed) = fetched;
        match (fetched, consumed) {
            (Ok(false), _) => Ok(None),
            (Ok(true), Ok(value)) => {
                if let (Some(tmp), Some(local)) = (keep, &self.local) {
                    let size = tmp.as_file().metadata().map_or(0, |m| m.len());
                    let kept = if keep_failed {
                        Err("writing the copy failed".to_string())
                    } else {
                        shareable(tmp.as_file())
                            .and_then(|()| tmp.persist(local.dir.join(name)).map_err(|e| e.error))
                            .map(drop)
                            .map_err(|e| e.to_string())
                    };
                    match kept {
                        Ok(()) => local.added(size),
                        Err(e) => self.reporter.note(&format!(
                            "Warning: could not save {name} into the local cache: {e}"
                        )),
                    }
                }
                Ok(Some((value, Source::Store)))
            }
            (Ok(true), Err(err)) => Err(err),
            // The consumer stopped reading (its own failure closed the pipe): that is the story.
            (Err(fetch), Err(err)) if fetch.kind() == Kind::Io => Err(err),
            (Err(fetch), _) => Err(fetch),
        }
    }

    /// Writes `name` with what `produce` writes: into the local cache and, when there is a
    /// store, streamed to it at the same time. A stream the store could not take whole is sent
    /// again from the complete file. Nothing is published when `produce` fails.
    pub fn write<T: Send>(
        &self,
        name: &str,
        create_only: bool,
        produce: impl FnOnce(&mut dyn Write) -> Result<T> + Send,
    ) -> Result<Written<T>> {
        check_name(name)?;
        // The archive's copy on disk: in the local cache (kept there), else in the temp dir (what
        // a retry sends). With a store to stream to, it is best effort: a full disk costs the
        // copy, never the upload.
        let in_local = self.local.as_ref().and_then(|l| l.scratch("upload").ok());
        // A store on a local disk reads no stream it could lose halfway: a copy to send again
        // would only write the archive twice.
        let replay_wanted = self.store.is_some_and(|s| s.local_root().is_none());
        let scratch = match in_local {
            Some(tmp) => Some(tmp),
            None if !replay_wanted => None,
            None => {
                let tmp_dir = std::env::temp_dir();
                crate::scratch::sweep(&tmp_dir, &["upload"], &|_| Ok(()));
                crate::scratch::file_in(&tmp_dir, "upload").ok()
            }
        };
        let kept_locally = scratch.as_ref().is_some_and(|tmp| {
            self.local
                .as_ref()
                .is_some_and(|l| tmp.path().parent() == Some(l.dir.as_path()))
        });
        let mut spool = Spool {
            out: scratch
                .as_ref()
                .map(|tmp| io::BufWriter::with_capacity(1 << 20, tmp.as_file())),
            error: None,
        };
        if spool.out.is_none() && (replay_wanted || self.store.is_none()) {
            spool.error = Some(io::Error::other("no temporary file could be created"));
        }
        let progress = self.reporter.transfer(name, None);
        let (produced, streamed) = match self.store {
            None => (produce(&mut spool), None),
            Some(store) => {
                let (reader, writer) = io::pipe()
                    .map_err(|e| Error::new(Kind::Io, format!("cannot create a pipe: {e}")))?;
                let failed = AtomicBool::new(false);
                std::thread::scope(|s| {
                    let producer = s.spawn(|| {
                        let mut tee = Duplicate {
                            spool: &mut spool,
                            pipe: Some(writer),
                        };
                        let produced = produce(&mut tee);
                        // The reader must know the stream failed before it sees its end.
                        failed.store(produced.is_err(), Ordering::SeqCst);
                        drop(tee.pipe.take());
                        produced
                    });
                    let mut stream = Counting {
                        inner: Guarded {
                            inner: reader,
                            failed: &failed,
                        },
                        progress: progress.as_ref(),
                    };
                    let put = store.put_reader(name, &mut stream, create_only);
                    drop(stream); // a store that gave up must not leave the producer blocked
                    (
                        producer.join().expect("the archiving thread panicked"),
                        Some(put),
                    )
                })
            }
        };
        let value = produced?;
        let spooled = spool.finish();
        drop(spool);

        if let Some(local) = &self.local {
            let kept = match (&spooled, &scratch) {
                (Ok(()), Some(tmp)) if kept_locally => keep_copy(tmp.path(), &local.dir.join(name)),
                (Err(e), _) => Err(io::Error::new(e.kind(), e.to_string())),
                _ => Err(io::Error::other("not written")),
            };
            match kept {
                Ok(()) => {
                    self.reporter.note(&format!("Saved {name} to local cache."));
                    local.added(fs::metadata(local.dir.join(name)).map_or(0, |m| m.len()));
                }
                Err(_) => self.reporter.note(&format!(
                    "Warning: Cannot create local cache dir {} or save into it, skipping local cache.",
                    local.dir.display()
                )),
            }
        }

        let remote = match (self.store, streamed) {
            (Some(store), Some(put)) => Some(match (put, &scratch, &spooled) {
                // The stream cannot be replayed; the complete file can, with the store's retries.
                (Err(err), Some(tmp), Ok(())) if err.kind() == Kind::Unreachable => {
                    // Not after a timeout: a server silent that long would only be waited on again.
                    store.put_file(name, tmp.path(), create_only)
                }
                (other, _, _) => other,
            }),
            _ => {
                if let Err(e) = spooled {
                    return Err(Error::new(
                        Kind::Io,
                        format!("cannot write the archive of {name}: {e}"),
                    ));
                }
                None
            }
        };
        Ok(Written { value, remote })
    }
}

/// The archive's copy on disk, written as far as the disk allows: its first failure is kept
/// and stops further writes, but not the archiving.
struct Spool<'a> {
    out: Option<io::BufWriter<&'a File>>,
    error: Option<io::Error>,
}

impl Spool<'_> {
    fn put(&mut self, buf: &[u8]) {
        if let Some(out) = &mut self.out {
            if let Err(e) = out.write_all(buf) {
                self.error = Some(e);
                self.out = None;
            }
        }
    }

    /// Flushes what is buffered; `Err` when any write failed.
    fn finish(&mut self) -> io::Result<()> {
        if let Some(mut out) = self.out.take() {
            if let Err(e) = out.flush() {
                self.error.get_or_insert(e);
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Write for Spool<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.put(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Passes a download on to the consumer's pipe and, when caching locally, to the kept copy. A
/// copy that cannot be written (a full disk) only loses the copy.
struct Tee<'a> {
    pipe: Option<io::PipeWriter>,
    keep: Option<&'a File>,
    keep_failed: bool,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let (Some(mut file), false) = (self.keep, self.keep_failed) {
            self.keep_failed = file.write_all(buf).is_err();
        }
        match &mut self.pipe {
            Some(pipe) => pipe.write_all(buf).map(|()| buf.len()),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the archive to the spool and, while the store reads, to the upload pipe. A store that
/// stopped reading only stops the second copy.
struct Duplicate<'a, 'f> {
    spool: &'a mut Spool<'f>,
    pipe: Option<io::PipeWriter>,
}

impl Write for Duplicate<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.spool.put(buf);
        if let Some(pipe) = &mut self.pipe {
            if pipe.write_all(buf).is_err() {
                self.pipe = None;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The upload's view of the pipe: the end of a stream whose archiving failed is an error, so a
/// truncated archive is never stored as a complete object.
struct Guarded<'a> {
    inner: io::PipeReader,
    failed: &'a AtomicBool,
}

impl Read for Guarded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf)? {
            0 if !buf.is_empty() && self.failed.load(Ordering::SeqCst) => {
                Err(io::Error::other("archiving failed"))
            }
            n => Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Collect;
    use crate::store::DirStore;

    fn drain(failed: bool) -> io::Result<Vec<u8>> {
        let (reader, mut writer) = io::pipe().unwrap();
        writer.write_all(b"partial archive").unwrap();
        drop(writer);
        let flag = AtomicBool::new(failed);
        let mut out = Vec::new();
        Guarded {
            inner: reader,
            failed: &flag,
        }
        .read_to_end(&mut out)
        .map(|_| out)
    }

    #[test]
    fn the_end_of_a_failed_archive_is_an_error() {
        assert_eq!(drain(false).unwrap(), b"partial archive");
        assert!(drain(true).is_err());
    }

    fn read_all(r: &mut dyn Read) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)
            .map_err(|e| Error::new(Kind::Io, e.to_string()))?;
        if out.starts_with(b"bad") {
            return Err(Error::new(Kind::Corrupt, "corrupt archive: bad"));
        }
        Ok(out)
    }

    #[test]
    fn reads_through_backfills_and_drops_a_corrupt_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::new(tmp.path().join("store"));
        store.put_bytes("a.tar.gz", b"good bytes", false).unwrap();
        let notes = Collect::default();
        let layered = Layered::new(
            Some(LocalCache::open(&tmp.path().join("local")).unwrap()),
            Some(&store),
            &notes,
        );
        let (bytes, from) = layered.read("a.tar.gz", read_all).unwrap().unwrap();
        assert_eq!(
            (bytes.as_slice(), from),
            (&b"good bytes"[..], Source::Store)
        );
        assert_eq!(
            fs::read(tmp.path().join("local/a.tar.gz")).unwrap(),
            b"good bytes"
        );
        let (_, from) = layered.read("a.tar.gz", read_all).unwrap().unwrap();
        assert_eq!(from, Source::Local);

        fs::write(tmp.path().join("local/a.tar.gz"), b"bad copy").unwrap();
        let (bytes, from) = layered.read("a.tar.gz", read_all).unwrap().unwrap();
        assert_eq!(
            (bytes.as_slice(), from),
            (&b"good bytes"[..], Source::Store)
        );
        assert_eq!(
            fs::read(tmp.path().join("local/a.tar.gz")).unwrap(),
            b"good bytes"
        );
        let said = notes.0.lock().unwrap().join("\n");
        assert!(said.contains("Local cache miss for a.tar.gz, downloading from remote."));
        assert!(said.contains("Local cache hit for a.tar.gz."));
        assert!(
            said.contains("removed it, downloading from remote."),
            "{said}"
        );
    }

    #[test]
    fn a_corrupt_download_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::new(tmp.path().join("store"));
        store
            .put_bytes("b.zst", b"bad from the store", false)
            .unwrap();
        let notes = Collect::default();
        let layered = Layered::new(
            Some(LocalCache::open(&tmp.path().join("local")).unwrap()),
            Some(&store),
            &notes,
        );
        let err = layered.read("b.zst", read_all).unwrap_err();
        assert_eq!(err.kind(), Kind::Corrupt);
        assert!(!tmp.path().join("local/b.zst").exists());
        assert!(layered.read("missing.zst", read_all).unwrap().is_none());
    }

    #[test]
    fn writes_through_to_both_layers() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::new(tmp.path().join("store"));
        let notes = Collect::default();
        let layered = Layered::new(
            Some(LocalCache::open(&tmp.path().join("local")).unwrap()),
            Some(&store),
            &notes,
        );
        let written = layered
            .write("c.tar.gz", true, |w| {
                w.write_all(b"archive")
                    .map_err(|e| Error::new(Kind::Io, e.to_string()))
            })
            .unwrap();
        assert!(matches!(written.remote, Some(Ok(Put::Created))));
        assert_eq!(
            fs::read(tmp.path().join("local/c.tar.gz")).unwrap(),
            b"archive"
        );
        assert_eq!(
            fs::read(tmp.path().join("store/c.tar.gz")).unwrap(),
            b"archive"
        );
        let failed = layered.write("d.tar.gz", true, |w| {
            w.write_all(b"half").unwrap();
            Err::<(), _>(Error::new(Kind::Io, "input vanished"))
        });
        assert!(failed.is_err());
        assert!(!tmp.path().join("store/d.tar.gz").exists());
        assert!(!tmp.path().join("local/d.tar.gz").exists());
    }
}
