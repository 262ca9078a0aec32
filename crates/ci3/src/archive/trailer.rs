//! The integrity trailer, and the hashing reader and writer around the compressed bytes.
//!
//! The trailer lives *inside* the artifact (never in a separate object, so no racing
//! writer can pair one body with another's digest) in a form the original tools skip:
//!
//! - zstd: a skippable frame, which `zstd -d` and libzstd decoders skip:
//!   `u32le 0x184D2A5C` (skippable magic), `u32le 48` (payload length), payload.
//! - gzip: an extra, empty gzip member (gzip concatenates members' outputs, so it adds nothing)
//!   whose header carries the payload in an FEXTRA subfield with id `c3`:
//!   `1f 8b 08 04 00000000 00 ff` (header, FEXTRA set, mtime 0, OS unknown),
//!   `u16le 52` (XLEN), `'c' '3' u16le 48` (subfield), payload,
//!   `03 00` (an empty final deflate block), `00000000 00000000` (CRC32 and size of nothing).
//!
//! Payload (48 bytes): `ci3dgst1` (id and version), `u64le` count of compressed bytes before
//! the trailer, then their 32-byte BLAKE3 digest.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use super::{Compression, Digest};

const PAYLOAD_ID: &[u8; 8] = b"ci3dgst1";
const PAYLOAD_LEN: usize = 8 + 8 + 32;
const ZSTD_MAGIC: u32 = 0x184D_2A5C;
const ZSTD_LEN: usize = 8 + PAYLOAD_LEN;
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 0xff];
const GZIP_SUBFIELD: [u8; 2] = *b"c3";
const GZIP_EMPTY_DEFLATE_AND_FOOTER: [u8; 10] = [0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
const GZIP_LEN: usize = GZIP_HEADER.len() + 2 + 4 + PAYLOAD_LEN + 10;

/// The trailer's size in bytes: fixed per format, which lets a reader find it without seeking.
pub(crate) fn len(compression: Compression) -> usize {
    match compression {
        Compression::Zstd => ZSTD_LEN,
        Compression::Gzip => GZIP_LEN,
    }
}

fn payload(digest: &Digest, covered: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(PAYLOAD_LEN);
    p.extend_from_slice(PAYLOAD_ID);
    p.extend_from_slice(&covered.to_le_bytes());
    p.extend_from_slice(&digest.0);
    p
}

/// The trailer recording that `covered` compressed bytes hash to `digest`.
pub(crate) fn encode(compression: Compression, digest: &Digest, covered: u64) -> Vec<u8> {
    let payload = payload(digest, covered);
    let mut t = Vec::with_capacity(len(compression));
    match compression {
        Compression::Zstd => {
            t.extend_from_slice(&ZSTD_MAGIC.to_le_bytes());
            t.extend_from_slice(&(PAYLOAD_LEN as u32).to_le_bytes());
        }
        Compression::Gzip => {
            t.extend_from_slice(&GZIP_HEADER);
            t.extend_from_slice(&((4 + PAYLOAD_LEN) as u16).to_le_bytes());
            t.extend_from_slice(&GZIP_SUBFIELD);
            t.extend_from_slice(&(PAYLOAD_LEN as u16).to_le_bytes());
        }
    }
    t.extend_from_slice(&payload);
    if compression == Compression::Gzip {
        t.extend_from_slice(&GZIP_EMPTY_DEFLATE_AND_FOOTER);
    }
    debug_assert_eq!(t.len(), len(compression));
    t
}

/// The `(digest, covered length)` a trailer records, or `None` when `tail` is not one.
pub(crate) fn decode(compression: Compression, tail: &[u8]) -> Option<(Digest, u64)> {
    if tail.len() != len(compression) {
        return None;
    }
    let payload = match compression {
        Compression::Zstd => {
            let (head, payload) = tail.split_at(8);
            let mut expected = ZSTD_MAGIC.to_le_bytes().to_vec();
            expected.extend_from_slice(&(PAYLOAD_LEN as u32).to_le_bytes());
            (head == expected).then_some(payload)?
        }
        Compression::Gzip => {
            let (head, rest) = tail.split_at(GZIP_HEADER.len() + 6);
            let (payload, foot) = rest.split_at(PAYLOAD_LEN);
            let mut expected = GZIP_HEADER.to_vec();
            expected.extend_from_slice(&((4 + PAYLOAD_LEN) as u16).to_le_bytes());
            expected.extend_from_slice(&GZIP_SUBFIELD);
            expected.extend_from_slice(&(PAYLOAD_LEN as u16).to_le_bytes());
            (head == expected && foot == GZIP_EMPTY_DEFLATE_AND_FOOTER).then_some(payload)?
        }
    };
    if &payload[..8] != PAYLOAD_ID {
        return None;
    }
    let covered = u64::from_le_bytes(payload[8..16].try_into().ok()?);
    let digest = Digest(payload[16..48].try_into().ok()?);
    Some((digest, covered))
}

/// Hashes and counts what goes through to the artifact.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    written: u64,
    failed: Rc<Cell<bool>>,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: blake3::Hasher::new(),
            written: 0,
            failed: Rc::default(),
        }
    }

    /// Set once writing to the output failed: errors then surface through the tar and
    /// compression layers, where they would pass for errors reading an input file.
    pub(crate) fn failed_flag(&self) -> Rc<Cell<bool>> {
        self.failed.clone()
    }

    /// The digest and length of everything written so far, and the writer, to append the trailer.
    pub(crate) fn finish(self) -> (Digest, u64, W) {
        let digest = Digest(*self.hasher.finalize().as_bytes());
        (digest, self.written, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failed.set(true);
            }
        })?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What the last bytes of a stream said about the bytes before them.
pub(crate) enum TrailerCheck {
    /// No trailer: an archive from GNU tar or the original scripts.
    Absent,
    Matches(Digest),
    Mismatch {
        expected: Digest,
        actual: Digest,
    },
}

/// Reads the artifact for the decoder, hashing every byte except the last `hold` ones, which
/// may be the trailer: since the trailer's size is fixed, holding that many bytes back is
/// enough to know at EOF whether it is there, without seeking and in bounded memory.
pub(crate) struct TrailerReader<R> {
    inner: R,
    compression: Compression,
    hasher: blake3::Hasher,
    hashed: u64,
    held: Vec<u8>,
    eof: bool,
    /// The first error the source itself returned: a transport failure, not a corrupt archive.
    source_error: Option<io::ErrorKind>,
}

impl<R: Read> TrailerReader<R> {
    pub(crate) fn new(inner: R, compression: Compression) -> Self {
        TrailerReader {
            inner,
            compression,
            hasher: blake3::Hasher::new(),
            hashed: 0,
            held: Vec::with_capacity(2 * len(compression)),
            eof: false,
            source_error: None,
        }
    }

    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    pub(crate) fn source_failed(&self) -> bool {
        self.source_error.is_some()
    }

    /// Reads the rest of the source, returning how many bytes were left.
    pub(crate) fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }

    /// Compressed bytes seen so far, a trailer excluded.
    pub(crate) fn covered(&self) -> u64 {
        self.hashed
    }

    /// At EOF: whether the held-back bytes are a trailer and whether it matches.
    pub(crate) fn check(&self) -> TrailerCheck {
        debug_assert!(self.eof);
        let actual = Digest(*self.hasher.finalize().as_bytes());
        match decode(self.compression, &self.held) {
            None => TrailerCheck::Absent,
            Some((expected, covered)) if expected == actual && covered == self.hashed => {
                TrailerCheck::Matches(actual)
            }
            Some((expected, _)) => TrailerCheck::Mismatch { expected, actual },
        }
    }

    /// Bytes held back and not a trailer belong to the archive: without a trailer the digest
    /// is of everything (it is then only informative).
    pub(crate) fn covered_without_trailer(&self) -> u64 {
        self.hashed + self.held.len() as u64
    }
}

impl<R: Read> Read for TrailerReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.source_error.get_or_insert(e.kind());
                }
                return Err(e);
            }
        };
        if n == 0 {
            if !buf.is_empty() {
                self.eof = true;
            }
            return Ok(0);
        }
        let hold = len(self.compression);
        self.held.extend_from_slice(&buf[..n]);
        if self.held.len() > hold {
            let release = self.held.len() - hold;
            self.hasher.update(&self.held[..release]);
            self.hashed += release as u64;
            self.held.drain(..release);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_round_trip_and_have_the_documented_size() {
        let d = Digest([7; 32]);
        for c in [Compression::Gzip, Compression::Zstd] {
            let t = encode(c, &d, 12345);
            assert_eq!(t.len(), len(c));
            assert_eq!(decode(c, &t), Some((d, 12345)));
            let mut bad = t.clone();
            bad[0] ^= 1;
            assert_eq!(decode(c, &bad), None);
        }
        assert_eq!(len(Compression::Zstd), 56);
        assert_eq!(len(Compression::Gzip), 74);
    }

    #[test]
    fn reader_hashes_all_but_the_trailer() {
        let body = b"some compressed bytes, pretend".repeat(100);
        let digest = Digest(*blake3::hash(&body).as_bytes());
        let mut data = body.clone();
        data.extend(encode(Compression::Zstd, &digest, body.len() as u64));
        let mut r = TrailerReader::new(&data[..], Compression::Zstd);
        let mut chunk = [0u8; 7];
        while r.read(&mut chunk).unwrap() > 0 {}
        assert!(matches!(r.check(), TrailerCheck::Matches(d) if d == digest));
        assert_eq!(r.covered(), body.len() as u64);

        let mut r = TrailerReader::new(&body[..], Compression::Zstd);
        r.drain().unwrap();
        assert!(matches!(r.check(), TrailerCheck::Absent));
        assert_eq!(r.covered_without_trailer(), body.len() as u64);
    }
}
