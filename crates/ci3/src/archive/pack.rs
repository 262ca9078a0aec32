//! Creating an artifact: tar, compress, hash, append the trailer, all in one streaming pass.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use tar::{EntryType, Header, HeaderMode};

use super::trailer::{self, HashingWriter};
use super::{safety, ArchiveError, Compression, Digest, Packed, Seal};
use crate::error::{Error, IoAt, Result, ResultExt};

/// Writes a compressed tar of `paths` (as given, relative to `cwd`) to `out`, followed by the
/// integrity trailer. Directories are archived recursively in name order, symlinks as symlinks,
/// files hardlinked together once with hardlink entries; modes and mtimes are kept.
///
/// Stored names are the paths as given with a leading `/` stripped, and anything up to a last
/// `..` component stripped too, as GNU tar does. All paths are checked before anything is
/// written: a missing one is an [`ArchiveError::MissingInput`].
pub fn pack<W: Write>(
    paths: &[PathBuf],
    cwd: &Path,
    compression: Compression,
    out: W,
) -> Result<Packed> {
    pack_sealed(paths, cwd, compression, out, &|_, _| None)
}

/// [`pack`], then the seal `seal` gives for the digest and length of the compressed bytes,
/// appended after the trailer (nothing when it gives none).
pub fn pack_sealed<W: Write>(
    paths: &[PathBuf],
    cwd: &Path,
    compression: Compression,
    out: W,
    seal: &dyn Fn(&Digest, u64) -> Option<Seal>,
) -> Result<Packed> {
    let mut inputs = Vec::with_capacity(paths.len());
    for path in paths {
        let full = cwd.join(path);
        match fs::symlink_metadata(&full) {
            Ok(md) => inputs.push((full, stored_name(path), md)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ArchiveError::MissingInput(path.clone()).into())
            }
            Err(e) => return Err(e).at("cannot read", &full),
        }
    }

    let hashed = HashingWriter::new(out);
    let out_failed = hashed.failed_flag();
    let mut walker = Walker {
        tar: tar::Builder::new(Encoder::new(compression, hashed)?),
        hardlinks: HashMap::new(),
    };
    for (full, name, md) in inputs {
        if let Err(e) = walker.add(&full, &name, md) {
            // An error surfacing while a file is added may be the output's, not the file's.
            return Err(if out_failed.get() {
                e.context("cannot write the archive")
            } else {
                e
            });
        }
    }
    let hashed = walker
        .tar
        .into_inner()
        .and_then(Encoder::finish)
        .context("cannot write the archive")?;

    let (digest, compressed_len, mut out) = hashed.finish();
    let mut trailer = trailer::encode(compression, &digest, compressed_len);
    if let Some(seal) = seal(&digest, compressed_len) {
        trailer.extend(trailer::encode_seal(compression, &seal));
    }
    out.write_all(&trailer)
        .and_then(|()| out.flush())
        .context("cannot write the archive")?;
    Ok(Packed {
        digest,
        compressed_len,
        total_len: compressed_len + trailer.len() as u64,
    })
}

/// The name GNU tar would store for `path`: no root, no `.`, nothing up to a last `..`.
fn stored_name(path: &Path) -> PathBuf {
    let mut name = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => name.push(part),
            Component::ParentDir => name = PathBuf::new(),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    name
}

enum Encoder<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(compression: Compression, out: W) -> io::Result<Self> {
        Ok(match compression {
            Compression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            )),
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(out, 3)?;
                // The frame checksum lets archives be checked even when a trailer is absent.
                enc.include_checksum(true)?;
                // Each worker buffers a job of several MiB: capped so memory stays modest on
                // big machines, where 8 workers already outrun disks and networks.
                let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
                enc.multithread(workers as u32)?;
                Encoder::Zstd(enc)
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

struct Walker<W: Write> {
    tar: tar::Builder<W>,
    /// (device, inode) of files with several links -> the name they were first stored under.
    hardlinks: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> Walker<W> {
    fn add(&mut self, full: &Path, name: &Path, md: Metadata) -> Result<()> {
        let ft = md.file_type();
        let mut header = Header::new_gnu();
        header.set_metadata_in_mode(&md, HeaderMode::Complete);
        header.set_mode(md.mode() & 0o7777);
        header.set_size(0);
        let fail = || format!("cannot archive {}", full.display());
        if name.as_os_str().is_empty() && !ft.is_dir() {
            return Err(Error::io(
                full,
                format!(
                    "cannot archive {}: it leaves no name to store",
                    full.display()
                ),
            ));
        }
        if ft.is_dir() {
            // The root of `.` or `/` has no name of its own: only its children are stored.
            if !name.as_os_str().is_empty() {
                self.tar
                    .append_data(&mut header, name, io::empty())
                    .with_context(fail)?;
            }
            let mut children = fs::read_dir(full)
                .with_context(fail)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<Vec<_>>>()
                .with_context(fail)?;
            // Name order makes the same tree give the same archive.
            children.sort();
            for child in children {
                let child_full = full.join(&child);
                let md = fs::symlink_metadata(&child_full).at("cannot archive", &child_full)?;
                self.add(&child_full, &name.join(&child), md)?;
            }
        } else if ft.is_symlink() {
            let target = fs::read_link(full).with_context(fail)?;
            // Refuse now what every extraction would refuse, rather than store an artifact
            // that can never be restored.
            if let Err(reason) = safety::check_symlink(name, target.as_os_str().as_bytes()) {
                return Err(Error::io(
                    full,
                    format!(
                        "cannot archive {}: extraction would refuse it ({reason})",
                        full.display()
                    ),
                ));
            }
            self.tar
                .append_link(&mut header, name, &target)
                .with_context(fail)?;
        } else if ft.is_file() {
            if md.nlink() > 1 {
                let key = (md.dev(), md.ino());
                if let Some(first) = self.hardlinks.get(&key) {
                    header.set_entry_type(EntryType::Link);
                    let first = first.clone();
                    self.tar
                        .append_link(&mut header, name, &first)
                        .with_context(fail)?;
                    return Ok(());
                }
                self.hardlinks.insert(key, name.to_path_buf());
            }
            self.add_file(full, name, header).with_context(fail)?;
        } else if ft.is_socket() {
            // As GNU tar does: a socket is meaningless once its process is gone.
        } else {
            return Err(Error::io(
                full,
                format!(
                    "cannot archive {}: device nodes and FIFOs are not supported (extraction refuses them)",
                    full.display()
                ),
            ));
        }
        Ok(())
    }

    fn add_file(&mut self, full: &Path, name: &Path, mut header: Header) -> Result<()> {
        // O_NOFOLLOW: the path was a regular file when listed; never archive what a symlink
        // swapped in since then points at.
        let file = File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(full)?;
        let md = file.metadata()?;
        header.set_metadata_in_mode(&md, HeaderMode::Complete);
        header.set_mode(md.mode() & 0o7777);
        let data = Exact {
            inner: file,
            remaining: md.len(),
        };
        self.tar.append_data(&mut header, name, data)?;
        Ok(())
    }
}

/// Yields exactly `remaining` bytes or fails: the tar header already promised that size, and a
/// file that changes while archived must not produce a misaligned (corrupt) tar stream.
struct Exact<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other("file grew while it was being archived")),
            };
        }
        let want = buf
            .len()
            .min(self.remaining.try_into().unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            return Err(io::Error::other("file shrank while it was being archived"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_follow_gnu_tar() {
        assert_eq!(stored_name(Path::new("/abs/dir")), Path::new("abs/dir"));
        assert_eq!(stored_name(Path::new("./a/./b/")), Path::new("a/b"));
        assert_eq!(stored_name(Path::new("../x/y")), Path::new("x/y"));
        assert_eq!(stored_name(Path::new("a/../../b")), Path::new("b"));
        assert_eq!(stored_name(Path::new(".")), Path::new(""));
    }
}
