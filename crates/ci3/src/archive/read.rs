//! Reading an artifact in one streaming pass: decompress while hashing the compressed bytes,
//! walk the tar entries, decode to the very end, check the trailer, and when something fails
//! say which failure it is: the source (transport), a truncated or malformed stream, or bytes
//! that are not the ones written (digest mismatch).

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use tar::EntryType;

use super::trailer::{TrailerCheck, TrailerReader};
use super::{
    corrupt, stream_error, Checked, Compression, Corruption, EntryKind, ListedEntry, Verified,
};
use crate::error::{Error, Result, ResultExt};

/// Lists the entries of an archive, checking it whole (trailer included) like [`verify`].
pub fn list<R: Read>(reader: R, compression: Compression) -> Result<Vec<ListedEntry>> {
    let mut listed = Vec::new();
    scan(reader, compression, |entry| {
        listed.push(listed_entry(entry)?);
        Ok(())
    })?;
    Ok(listed)
}

/// Decodes the whole archive without extracting it: the compressed stream, the tar stream and
/// the trailer's digest when there is one (`Verified::digest` is `None` when there is not).
pub fn verify<R: Read>(reader: R, compression: Compression) -> Result<Verified> {
    let scanned = scan(reader, compression, |_| Ok(()))?;
    Ok(Verified {
        digest: scanned.checked.digest,
        compressed_len: scanned.checked.compressed_len,
        seal: scanned.checked.seal,
        entries: scanned.entries,
    })
}

/// The decompressed stream, remembering whether the decoder (rather than the tar layer or an
/// entry handler) failed: such an error is the archive's fault wherever it surfaces.
pub(crate) struct Decoded<'a> {
    inner: Box<dyn Read + 'a>,
    failure: Option<io::ErrorKind>,
}

impl Read for Decoded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failure.get_or_insert(e.kind());
            }
        })
    }
}

pub(crate) struct Scanned {
    pub checked: Checked,
    pub entries: u64,
}

enum Failure {
    /// The tar layer or the decoder failed.
    Stream(io::Error),
    /// The entry handler failed (which may itself be a decoder failure surfacing).
    Entry(Error),
}

/// Feeds every entry to `on_entry` and succeeds only when the whole stream was read and
/// decoded and the trailer, if present, matches.
pub(crate) fn scan<R, F>(reader: R, compression: Compression, mut on_entry: F) -> Result<Scanned>
where
    R: Read,
    F: FnMut(&mut tar::Entry<'_, Decoded<'_>>) -> Result<()>,
{
    let mut raw = TrailerReader::new(reader, compression);
    let (outcome, decoder_failure) = walk(&mut raw, compression, &mut on_entry);
    let eof_at_failure = raw.at_eof();
    let entries = match outcome {
        Ok(entries) => entries,
        Err(Failure::Entry(e)) if decoder_failure.is_none() && !raw.source_failed() => {
            return Err(e)
        }
        Err(failure) => {
            let (err, kind) = match failure {
                Failure::Stream(e) => {
                    let kind = decoder_failure.unwrap_or(e.kind());
                    (stream_error(e), kind)
                }
                Failure::Entry(e) => (e, decoder_failure.unwrap_or(io::ErrorKind::Other)),
            };
            return Err(diagnose(&mut raw, err, kind, eof_at_failure));
        }
    };
    if !raw.at_eof() {
        // The decoders read to the end of their input; bytes beyond were never decoded.
        let extra = raw.drain().context("cannot read the archive")?;
        if extra > 0 {
            return Err(corrupt(Corruption::Malformed(format!(
                "{extra} bytes after the end of the compressed stream"
            ))));
        }
    }
    let checked = match raw.check() {
        TrailerCheck::Absent { covered } => Checked {
            digest: None,
            compressed_len: covered,
            seal: None,
        },
        TrailerCheck::Matches {
            digest,
            covered,
            seal,
        } => Checked {
            digest: Some(digest),
            compressed_len: covered,
            seal,
        },
        TrailerCheck::Mismatch { expected, actual } => {
            return Err(corrupt(Corruption::DigestMismatch { expected, actual }))
        }
    };
    Ok(Scanned { checked, entries })
}

/// Names a stream failure. A trailer, when the rest of the stream still holds one, has the
/// last word: damaged bytes are a digest mismatch whatever the decoder made of them.
fn diagnose<R: Read>(
    raw: &mut TrailerReader<R>,
    err: Error,
    kind: io::ErrorKind,
    eof_at_failure: bool,
) -> Error {
    if raw.source_failed() {
        return err.context("cannot read the archive");
    }
    if let Err(e) = raw.drain() {
        if raw.source_failed() {
            return stream_error(e).context("cannot read the archive");
        }
    }
    if raw.at_eof() {
        if let TrailerCheck::Mismatch { expected, actual } = raw.check() {
            return corrupt(Corruption::DigestMismatch { expected, actual });
        }
    }
    if eof_at_failure && kind == io::ErrorKind::UnexpectedEof {
        return corrupt(Corruption::Truncated);
    }
    corrupt(Corruption::Malformed(err.to_string()))
}

/// Decodes `raw` and walks its tar entries, then decodes to the end of the compressed stream
/// (past the tar end marker: padding, trailer, checksums) so damage there is caught too.
fn walk<R, F>(
    raw: &mut TrailerReader<R>,
    compression: Compression,
    on_entry: &mut F,
) -> (Result<u64, Failure>, Option<io::ErrorKind>)
where
    R: Read,
    F: FnMut(&mut tar::Entry<'_, Decoded<'_>>) -> Result<()>,
{
    let inner: Box<dyn Read + '_> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => match zstd::stream::read::Decoder::new(raw) {
            Ok(d) => Box::new(d),
            Err(e) => return (Err(Failure::Stream(e)), None),
        },
    };
    let mut archive = tar::Archive::new(Decoded {
        inner,
        failure: None,
    });
    let result = each_entry(&mut archive, on_entry);
    let mut decoded = archive.into_inner();
    let result = result.and_then(|n| {
        io::copy(&mut decoded, &mut io::sink())
            .map(|_| n)
            .map_err(Failure::Stream)
    });
    (result, decoded.failure)
}

fn each_entry<F>(archive: &mut tar::Archive<Decoded<'_>>, on_entry: &mut F) -> Result<u64, Failure>
where
    F: FnMut(&mut tar::Entry<'_, Decoded<'_>>) -> Result<()>,
{
    let mut n = 0;
    for entry in archive.entries().map_err(Failure::Stream)? {
        let mut entry = entry.map_err(Failure::Stream)?;
        on_entry(&mut entry).map_err(Failure::Entry)?;
        n += 1;
    }
    Ok(n)
}

/// A header field that does not parse makes the archive malformed, not the caller's error.
pub(crate) fn header_field<T>(value: io::Result<T>, entry: &[u8]) -> Result<T> {
    value.map_err(|e| {
        corrupt(Corruption::Malformed(format!(
            "entry '{}': {e}",
            String::from_utf8_lossy(entry)
        )))
    })
}

fn listed_entry(entry: &tar::Entry<'_, Decoded<'_>>) -> Result<ListedEntry> {
    let name = entry.path_bytes().into_owned();
    let header = entry.header();
    let kind = match header.entry_type() {
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => EntryKind::File,
        EntryType::Directory => EntryKind::Dir,
        EntryType::Symlink => EntryKind::Symlink,
        EntryType::Link => EntryKind::Hardlink,
        EntryType::Char => EntryKind::CharDevice,
        EntryType::Block => EntryKind::BlockDevice,
        EntryType::Fifo => EntryKind::Fifo,
        other => EntryKind::Other(other.as_byte()),
    };
    Ok(ListedEntry {
        kind,
        size: entry.size(),
        mode: header_field(header.mode(), &name)? & 0o7777,
        mtime: header_field(header.mtime(), &name)?,
        link: entry
            .link_name_bytes()
            .map(|l| PathBuf::from(OsStr::from_bytes(&l))),
        path: PathBuf::from(OsStr::from_bytes(&name)),
    })
}
