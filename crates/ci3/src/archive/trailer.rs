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
//!
//! A signed artifact has a second record of the same shape right after the digest trailer: the
//! seal, an 88-byte payload starting `ci3sig01` (zstd: skippable frame of length 88; gzip: an
//! empty member whose `c3` subfield is 88 bytes). Its content is the signer's (`trust`); here it
//! is only found, so archives without one read as before.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use super::{Compression, Digest, Seal, SEAL_ID, SEAL_LEN};

const PAYLOAD_ID: &[u8; 8] = b"ci3dgst1";
const PAYLOAD_LEN: usize = 8 + 8 + 32;
const ZSTD_MAGIC: u32 = 0x184D_2A5C;
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 0xff];
const GZIP_SUBFIELD: [u8; 2] = *b"c3";
const GZIP_EMPTY_DEFLATE_AND_FOOTER: [u8; 10] = [0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];

/// The size of a record carrying `payload` bytes.
const fn record_len(compression: Compression, payload: usize) -> usize {
    match compression {
        Compression::Zstd => 8 + payload,
        Compression::Gzip => GZIP_HEADER.len() + 2 + 4 + payload + 10,
    }
}

/// The trailer's size in bytes: fixed per format, which lets a reader find it without seeking.
pub(crate) fn len(compression: Compression) -> usize {
    record_len(compression, PAYLOAD_LEN)
}

/// The seal record's size in bytes.
pub(crate) fn seal_len(compression: Compression) -> usize {
    record_len(compression, SEAL_LEN)
}

fn payload(digest: &Digest, covered: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(PAYLOAD_LEN);
    p.extend_from_slice(PAYLOAD_ID);
    p.extend_from_slice(&covered.to_le_bytes());
    p.extend_from_slice(&digest.0);
    p
}

/// The frame (zstd) or member header (gzip) before a payload of `n` bytes.
fn record_head(compression: Compression, n: usize) -> Vec<u8> {
    let mut t = Vec::new();
    match compression {
        Compression::Zstd => {
            t.extend_from_slice(&ZSTD_MAGIC.to_le_bytes());
            t.extend_from_slice(&(n as u32).to_le_bytes());
        }
        Compression::Gzip => {
            t.extend_from_slice(&GZIP_HEADER);
            t.extend_from_slice(&((4 + n) as u16).to_le_bytes());
            t.extend_from_slice(&GZIP_SUBFIELD);
            t.extend_from_slice(&(n as u16).to_le_bytes());
        }
    }
    t
}

fn encode_record(compression: Compression, payload: &[u8]) -> Vec<u8> {
    let mut t = record_head(compression, payload.len());
    t.extend_from_slice(payload);
    if compression == Compression::Gzip {
        t.extend_from_slice(&GZIP_EMPTY_DEFLATE_AND_FOOTER);
    }
    debug_assert_eq!(t.len(), record_len(compression, payload.len()));
    t
}

/// The payload of a record of exactly `n` payload bytes, or `None` when `tail` is not one.
fn decode_record(compression: Compression, tail: &[u8], n: usize) -> Option<&[u8]> {
    if tail.len() != record_len(compression, n) {
        return None;
    }
    let head = record_head(compression, n);
    let (h, rest) = tail.split_at(head.len());
    let (payload, foot) = rest.split_at(n);
    let foot_ok = match compression {
        Compression::Zstd => foot.is_empty(),
        Compression::Gzip => foot == GZIP_EMPTY_DEFLATE_AND_FOOTER,
    };
    (h == head && foot_ok).then_some(payload)
}

/// The trailer recording that `covered` compressed bytes hash to `digest`.
pub(crate) fn encode(compression: Compression, digest: &Digest, covered: u64) -> Vec<u8> {
    encode_record(compression, &payload(digest, covered))
}

/// The seal record carrying `seal`.
pub(crate) fn encode_seal(compression: Compression, seal: &Seal) -> Vec<u8> {
    encode_record(compression, seal)
}

/// The `(digest, covered length)` a trailer records, or `None` when `tail` is not one.
pub(crate) fn decode(compression: Compression, tail: &[u8]) -> Option<(Digest, u64)> {
    let payload = decode_record(compression, tail, PAYLOAD_LEN)?;
    if &payload[..8] != PAYLOAD_ID {
        return None;
    }
    let covered = u64::from_le_bytes(payload[8..16].try_into().ok()?);
    let digest = Digest(payload[16..48].try_into().ok()?);
    Some((digest, covered))
}

/// The seal a seal record carries, or `None` when `tail` is not one.
pub(crate) fn decode_seal(compression: Compression, tail: &[u8]) -> Option<Seal> {
    let payload = decode_record(compression, tail, SEAL_LEN)?;
    if &payload[..SEAL_ID.len()] != SEAL_ID {
        return None;
    }
    payload.try_into().ok()
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
    /// No trailer: an archive from GNU tar or the original scripts; all its bytes are covered.
    Absent {
        covered: u64,
    },
    Matches {
        digest: Digest,
        covered: u64,
        seal: Option<Seal>,
    },
    Mismatch {
        expected: Digest,
        actual: Digest,
    },
}

/// Reads the artifact for the decoder, hashing every byte except the last `hold` ones, which
/// may be the trailer and a seal: since their sizes are fixed, holding that many bytes back is
/// enough to know at EOF whether they are there, without seeking and in bounded memory.
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
            held: Vec::with_capacity(2 * (len(compression) + seal_len(compression))),
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

    /// At EOF: whether the held-back bytes end in a trailer (and a seal after it), and whether
    /// the trailer matches the bytes before it. Held bytes that are no record belong to the
    /// archive: without a trailer the digest is of everything (it is then only informative).
    pub(crate) fn check(&self) -> TrailerCheck {
        debug_assert!(self.eof);
        let (d, s, held) = (
            len(self.compression),
            seal_len(self.compression),
            &self.held,
        );
        let sealed = held.len() >= d + s
            && decode(self.compression, &held[held.len() - s - d..held.len() - s]).is_some();
        let (records, seal) = match sealed {
            true => match decode_seal(self.compression, &held[held.len() - s..]) {
                Some(seal) => (d + s, Some(seal)),
                None => (d, None),
            },
            false => (d, None),
        };
        let found = (held.len() >= records)
            .then(|| decode(self.compression, &held[held.len() - records..][..d]))
            .flatten();
        let body = match found {
            Some(_) => &held[..held.len() - records],
            None => &held[..],
        };
        let mut hasher = self.hasher.clone();
        hasher.update(body);
        let actual = Digest(*hasher.finalize().as_bytes());
        let covered = self.hashed + body.len() as u64;
        match found {
            None => TrailerCheck::Absent { covered },
            Some((expected, n)) if expected == actual && n == covered => TrailerCheck::Matches {
                digest: actual,
                covered,
                seal,
            },
            Some((expected, _)) => TrailerCheck::Mismatch { expected, actual },
        }
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
        let hold = len(self.compression) + seal_len(self.compression);
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

    fn read_through(data: &[u8]) -> TrailerCheck {
        let mut r = TrailerReader::new(data, Compression::Zstd);
        let mut chunk = [0u8; 7];
        while r.read(&mut chunk).unwrap() > 0 {}
        r.check()
    }

    #[test]
    fn reader_hashes_all_but_the_trailer_and_seal() {
        let body = b"some compressed bytes, pretend".repeat(100);
        let digest = Digest(*blake3::hash(&body).as_bytes());
        let mut data = body.clone();
        data.extend(encode(Compression::Zstd, &digest, body.len() as u64));
        assert!(matches!(
            read_through(&data),
            TrailerCheck::Matches { digest: d, covered, seal: None }
                if d == digest && covered == body.len() as u64
        ));
        let mut seal = [9u8; SEAL_LEN];
        seal[..8].copy_from_slice(SEAL_ID);
        data.extend(encode_seal(Compression::Zstd, &seal));
        assert!(matches!(
            read_through(&data),
            TrailerCheck::Matches { seal: Some(s), .. } if s == seal
        ));
        assert!(matches!(
            read_through(&body),
            TrailerCheck::Absent { covered } if covered == body.len() as u64
        ));
        // Short archives: fewer bytes than a trailer and a seal.
        assert!(matches!(
            read_through(b"tiny"),
            TrailerCheck::Absent { covered: 4 }
        ));
    }
}
