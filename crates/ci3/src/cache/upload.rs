//! `cache_upload NAME PATH...` (ci3-tools.md section 6).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};

use super::{is_disabled, local_dir, seconds};
use crate::archive::{self, Compression};
use crate::env::{ci, flag, non_empty};
use crate::store::{self, Failure, Put};

/// Runs the upload decision order; returns the exit code. Only a missing input path is an error:
/// a build never fails because the cache is unavailable.
pub fn upload(name: &str, paths: &[PathBuf], cwd: &Path) -> Result<i32> {
    if is_disabled(name) {
        eprintln!("Skipping upload of {name} due to uncommitted changes/files.");
        return Ok(0);
    }
    if flag("NO_CACHE_UPLOAD") {
        eprintln!("Skipping upload of {name} because NO_CACHE_UPLOAD=1.");
        return Ok(0);
    }
    let force = non_empty("S3_FORCE_UPLOAD").is_some();
    let remote = match store::from_env() {
        Err(err) => {
            eprintln!(
                "Skipping remote upload of {name}: {}",
                crate::cli::one_line(&err)
            );
            None
        }
        Ok(selected) if !selected.is_dir && !ci() && !force => {
            eprintln!("Skipping S3 upload because CI=0 and S3_FORCE_UPLOAD not set.");
            None
        }
        Ok(selected) if !selected.store.can_write() => {
            eprintln!("Skipping S3 upload, no AWS credentials found.");
            None
        }
        Ok(selected) if force => Some(selected.store),
        Ok(selected) => match selected.store.exists(name) {
            Ok(true) => {
                eprintln!("Skipping S3 upload, already exists: {name}");
                None
            }
            Ok(false) => Some(selected.store),
            Err(err) => {
                eprintln!(
                    "Skipping upload of {name} to {}: {err}",
                    selected.store.describe()
                );
                None
            }
        },
    };
    let local = local_dir();
    if remote.is_none() && local.is_none() {
        eprintln!("Skipping upload: no S3 upload to do and no CACHE_LOCAL_DIR to save into.");
        return Ok(0);
    }

    let start = Instant::now();
    // Archive next to where it will be saved, so saving is a rename.
    let local_ok = local
        .as_ref()
        .filter(|dir| std::fs::create_dir_all(dir).is_ok());
    let scratch = match local_ok {
        Some(dir) => tempfile::Builder::new()
            .prefix(".ci3-upload-")
            .tempfile_in(dir),
        None => tempfile::Builder::new().prefix(".ci3-upload-").tempfile(),
    }
    .context("cannot create a temporary archive file")?;
    let compression = Compression::for_name(name);
    let mut file = std::io::BufWriter::with_capacity(1 << 20, scratch.as_file());
    // With a remote upload the archive streams to the store while it is made; the scratch file
    // gets every byte too (the local-cache copy, and what a retry sends).
    let (packed, streamed) = match &remote {
        None => (
            archive::pack(paths, cwd, compression, &mut file).and_then(|_| Ok(file.flush()?)),
            None,
        ),
        Some(store) => {
            let (reader, writer) = std::io::pipe().context("cannot create a pipe")?;
            let failed = AtomicBool::new(false);
            std::thread::scope(|s| {
                let packer = s.spawn(|| {
                    let mut tee = Tee {
                        file: &mut file,
                        pipe: Some(writer),
                    };
                    let packed = archive::pack(paths, cwd, compression, &mut tee)
                        .and_then(|_| Ok(tee.file.flush()?));
                    // The reader must know the stream failed before it sees its end.
                    failed.store(packed.is_err(), Ordering::SeqCst);
                    drop(tee.pipe.take());
                    packed
                });
                let mut stream = Guarded {
                    inner: reader,
                    failed: &failed,
                };
                let put = store.put_reader(name, &mut stream, !force);
                drop(stream); // a store that gave up must not leave the packer blocked
                (
                    packer.join().expect("the archiving thread panicked"),
                    Some(put),
                )
            })
        }
    };
    drop(file);
    if let Err(err) = packed {
        if matches!(
            archive::archive_error(&err),
            Some(archive::ArchiveError::MissingInput(_))
        ) {
            return Err(err);
        }
        // Outputs that cannot be archived safely (say, a symlink out of the tree) are not cached,
        // but the build that made them did not fail.
        eprintln!(
            "Cache upload of {name} failed. {}",
            crate::cli::one_line(&err)
        );
        return Ok(0);
    }

    if let Some(dir) = &local {
        let saved = local_ok.is_some()
            && std::fs::hard_link(scratch.path(), dir.join(name))
                .or_else(|e| {
                    // An existing copy is replaced: the new archive is as good and was just built.
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        std::fs::remove_file(dir.join(name))
                            .and_then(|()| std::fs::hard_link(scratch.path(), dir.join(name)))
                    } else {
                        Err(e)
                    }
                })
                .is_ok();
        if saved {
            eprintln!("Saved {name} to local cache.");
        } else {
            eprintln!(
                "Warning: Cannot create local cache dir {} or save into it, skipping local cache.",
                dir.display()
            );
        }
    }

    if let (Some(store), Some(put)) = (remote, streamed) {
        let put = match put {
            // The stream cannot be replayed; the complete file can, with the store's retries.
            Err(err) if err.failure == Failure::Unreachable => {
                store.put_file(name, scratch.path(), !force)
            }
            other => other,
        };
        match put {
            Ok(Put::Created) => {
                crate::hash::manifest::upload_for(name, store.as_ref());
                eprintln!("Cache upload of {name} complete in {}s.", seconds(start));
            }
            Ok(Put::AlreadyExists) => eprintln!("Skipping S3 upload, already exists: {name}"),
            Err(err) => eprintln!("Cache upload of {name} failed. {err}"),
        }
    }
    Ok(0)
}

/// Writes the archive to the scratch file and, while the store reads, to the upload pipe. A
/// store that stopped reading only stops the second copy.
struct Tee<'a, F: Write> {
    file: &'a mut F,
    pipe: Option<std::io::PipeWriter>,
}

impl<F: Write> Write for Tee<'_, F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write_all(buf)?;
        if let Some(pipe) = &mut self.pipe {
            if pipe.write_all(buf).is_err() {
                self.pipe = None;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The upload's view of the pipe: the end of a stream whose archiving failed is an error, so a
/// truncated archive is never stored as a complete object.
struct Guarded<'a> {
    inner: std::io::PipeReader,
    failed: &'a AtomicBool,
}

impl Read for Guarded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf)? {
            0 if !buf.is_empty() && self.failed.load(Ordering::SeqCst) => {
                Err(std::io::Error::other("archiving failed"))
            }
            n => Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(failed: bool) -> std::io::Result<Vec<u8>> {
        let (reader, mut writer) = std::io::pipe().unwrap();
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
}
