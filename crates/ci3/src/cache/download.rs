//! `cache_download NAME [OUT_DIR]` (ci3-tools.md sections 7 and 8).
//!
//! The artifact streams from the store through a pipe into the extractor, which stages the tree
//! and moves it into OUT_DIR only after the whole stream was read and its digest matched. With a
//! local cache the same bytes are also written to a temporary file there, which becomes the
//! cached copy only when extraction succeeded: a corrupt or partial download is never kept.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context, Result};

use super::{is_disabled, local_dir, seconds};
use crate::archive::{self, Compression};
use crate::env::flag;
use crate::store::{self, Store};

/// Runs the download decision order; returns the exit code (0 extracted, 1 anything else).
pub fn download(name: &str, out_dir: &Path) -> Result<i32> {
    if is_disabled(name) {
        eprintln!("Not using cache for {name} due to uncommitted changes/files.");
        return Ok(1);
    }
    if flag("NO_CACHE") {
        eprintln!("Not using cache for {name} because NO_CACHE=1.");
        return Ok(1);
    }
    let start = Instant::now();
    let compression = Compression::for_name(name);
    let local = local_dir().filter(|dir| {
        let usable = std::fs::create_dir_all(dir).is_ok();
        if !usable {
            eprintln!(
                "Warning: Cannot create local cache dir {}, skipping local cache.",
                dir.display()
            );
        }
        usable
    });

    if let Some(dir) = &local {
        let cached = dir.join(name);
        if cached.is_file() {
            eprintln!("Local cache hit for {name}.");
            match File::open(&cached)
                .map_err(anyhow::Error::from)
                .and_then(|f| archive::unpack(io::BufReader::new(f), compression, out_dir))
            {
                Ok(_) => {
                    eprintln!(
                        "Cache download and extraction of {name} complete in {}s.",
                        seconds(start)
                    );
                    return Ok(0);
                }
                Err(err) if archive::archive_error(&err).is_some_and(|e| e.is_corrupt()) => {
                    // A damaged copy must not keep counting as a hit.
                    let _ = std::fs::remove_file(&cached);
                    eprintln!(
                        "Local cache copy of {name} is {}; removed it, downloading from remote.",
                        crate::cli::one_line(&err)
                    );
                }
                Err(err) => {
                    eprintln!(
                        "Cache download of {name} failed. {}",
                        crate::cli::one_line(&err)
                    );
                    return Ok(1);
                }
            }
        } else {
            eprintln!("Local cache miss for {name}, downloading from remote.");
        }
    }

    let selected = match store::from_env() {
        Ok(selected) => selected,
        Err(err) => {
            eprintln!(
                "Cache download of {name} failed. {}",
                crate::cli::one_line(&err)
            );
            return Ok(1);
        }
    };
    let keep = match &local {
        Some(dir) => Some(
            tempfile::Builder::new()
                .prefix(".ci3-download-")
                .tempfile_in(dir)
                .context("cannot write into the local cache")?,
        ),
        None => None,
    };
    match fetch_and_unpack(
        selected.store.as_ref(),
        name,
        compression,
        out_dir,
        keep.as_ref().map(|t| t.as_file()),
    ) {
        Ok(true) => {
            if let (Some(tmp), Some(dir)) = (keep, &local) {
                if let Err(err) = tmp.persist(dir.join(name)) {
                    eprintln!(
                        "Warning: could not save {name} into the local cache: {}",
                        err.error
                    );
                }
            }
            eprintln!(
                "Cache download and extraction of {name} complete in {}s.",
                seconds(start)
            );
            Ok(0)
        }
        Ok(false) => {
            eprintln!(
                "Cache download of {name} failed. Not in {}.",
                selected.store.describe()
            );
            Ok(1)
        }
        Err(err) => {
            eprintln!(
                "Cache download of {name} failed. {}",
                crate::cli::one_line(&err)
            );
            Ok(1)
        }
    }
}

/// Streams `name` from `store` into `archive::unpack`; `Ok(false)` on a miss.
fn fetch_and_unpack(
    store: &dyn Store,
    name: &str,
    compression: Compression,
    out_dir: &Path,
    keep: Option<&File>,
) -> Result<bool> {
    let (reader, writer) = io::pipe().context("cannot create a pipe")?;
    let out = out_dir.to_path_buf();
    let extractor = std::thread::spawn(move || {
        archive::unpack(
            io::BufReader::with_capacity(1 << 20, reader),
            compression,
            &out,
        )
    });
    let mut sink = Tee {
        pipe: Some(writer),
        keep,
    };
    let fetched = store.get(name, &mut sink);
    drop(sink); // end of stream for the extractor
    let unpacked = extractor
        .join()
        .map_err(|_| anyhow!("the extraction thread panicked"))?;
    match fetched {
        Ok(false) => Ok(false),
        Ok(true) => unpacked.map(|_| true),
        // A refused entry closes the pipe under the download: that refusal is the real story.
        // Anything else the extractor saw (a truncated stream) follows from the store's failure.
        Err(err) => match unpacked {
            Err(unpack_err)
                if matches!(
                    archive::archive_error(&unpack_err),
                    Some(archive::ArchiveError::Unsafe { .. })
                ) =>
            {
                Err(unpack_err)
            }
            _ => Err(err.into()),
        },
    }
}

/// Writes to the extractor's pipe and, when caching locally, to the cached copy.
struct Tee<'a> {
    pipe: Option<io::PipeWriter>,
    keep: Option<&'a File>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(mut file) = self.keep {
            file.write_all(buf)?;
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

/// Downloads `name` into a temporary file (for `cache_ls`); `None` on a miss.
pub fn fetch(name: &str) -> Result<Option<tempfile::NamedTempFile>> {
    if let Some(dir) = local_dir() {
        let cached: PathBuf = dir.join(name);
        if cached.is_file() {
            let mut tmp = tempfile::NamedTempFile::new()?;
            io::copy(&mut File::open(&cached)?, tmp.as_file_mut())?;
            return Ok(Some(tmp));
        }
    }
    let selected = store::from_env()?;
    let mut tmp = tempfile::NamedTempFile::new()?;
    if !selected.store.get(name, tmp.as_file_mut())? {
        return Ok(None);
    }
    Ok(Some(tmp))
}
