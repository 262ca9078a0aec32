//! Artifacts: tar archives of build outputs, gzip- or zstd-compressed, streamed both ways.
//!
//! Every archive `pack` writes ends with an **integrity trailer**: the BLAKE3 digest and length
//! of all compressed bytes before it, stored where gzip, zstd and GNU tar ignore it (see
//! `trailer`), so a `.tar.gz`/`.zst` artifact stays readable by the original scripts. Readers
//! accept archives without one (made by GNU tar or the original scripts) and report its absence.
//!
//! Behaviour a caller must know:
//! - `pack` strips a leading `/` and anything up to a last `..` from the names it stores, as
//!   GNU tar does; sockets are skipped, device nodes and FIFOs are refused.
//! - `unpack` refuses absolute entry names (GNU tar only writes them under `-P`), `..`
//!   components, symlinks with an absolute target or whose target climbs out of OUT_DIR (only
//!   leading `..` components are accepted in a symlink target), hardlinks to anything but a
//!   regular file extracted earlier from the same archive, device nodes and FIFOs, and
//!   directories that would land on a pre-existing symlink in OUT_DIR.
//! - Modes are restored without the umask but without setuid/setgid/sticky bits; ownership is
//!   not restored; mtimes are (to the second).

mod pack;
mod place;
mod read;
mod safety;
mod trailer;
mod unpack;

use std::fmt;
use std::path::PathBuf;

use crate::{Error, Kind};

pub use pack::{pack, pack_sealed};
pub use read::{list, verify};
pub use unpack::{unpack, unpack_checked};

/// The first bytes of a seal's payload (id and version).
pub const SEAL_ID: &[u8; 8] = b"ci3sig01";
/// A seal's payload length.
pub const SEAL_LEN: usize = 88;
/// What a signer appends after the integrity trailer (see `trailer`); its meaning is `trust`'s.
pub type Seal = [u8; SEAL_LEN];

/// What the end of an artifact says about it, once its digest matched.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The verified digest, or `None` when the archive has no trailer.
    pub digest: Option<Digest>,
    /// Compressed bytes, trailer and seal excluded.
    pub compressed_len: u64,
    /// The seal after the trailer, when there is one.
    pub seal: Option<Seal>,
}

/// How the tar stream is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression an artifact name implies: `.zst` is zstd, anything else gzip.
    pub fn for_name(name: &str) -> Compression {
        if name.ends_with(".zst") {
            Compression::Zstd
        } else {
            Compression::Gzip
        }
    }
}

pub use crate::digest::Digest;

/// What `pack` wrote.
#[derive(Clone, Debug)]
pub struct Packed {
    /// The digest recorded in the trailer.
    pub digest: Digest,
    /// Compressed bytes before the trailer (what the digest covers).
    pub compressed_len: u64,
    /// All bytes written, trailer included.
    pub total_len: u64,
}

/// What `unpack` extracted.
#[derive(Clone, Debug)]
pub struct Unpacked {
    /// The verified digest, or `None` for an archive without trailer (GNU tar, original scripts).
    pub digest: Option<Digest>,
    /// The seal after the trailer, when there is one.
    pub seal: Option<Seal>,
    /// Entries extracted (the root entry `./` and metadata entries are not counted).
    pub entries: u64,
}

/// What `verify` found: the whole stream decoded and the trailer, if any, matched.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The verified digest, or `None` when the archive has no trailer.
    pub digest: Option<Digest>,
    /// Compressed bytes, trailer excluded.
    pub compressed_len: u64,
    /// The seal after the trailer, when there is one.
    pub seal: Option<Seal>,
    /// Entries in the tar stream.
    pub entries: u64,
}

/// The kind of a tar entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// Any other type flag, e.g. a PAX global header.
    Other(u8),
}

/// One entry of an archive, as `list` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedEntry {
    /// The name as stored (lossless bytes on Unix), not sanitised.
    pub path: PathBuf,
    pub kind: EntryKind,
    pub size: u64,
    /// Permission bits as stored.
    pub mode: u32,
    /// Seconds since the epoch.
    pub mtime: u64,
    /// The target of a symlink or hardlink.
    pub link: Option<PathBuf>,
}

/// The errors callers tell apart (e.g. to say "corrupt" rather than "miss"). Functions here
/// return a [`crate::Error`] carrying one of these as its cause; find it with [`archive_error`].
#[derive(Debug)]
pub enum ArchiveError {
    /// The bytes are not the archive that was written.
    Corrupt(Corruption),
    /// An entry that extraction refuses; nothing was put in OUT_DIR.
    Unsafe { entry: String, reason: String },
    /// An input path given to `pack` does not exist.
    MissingInput(PathBuf),
}

/// How an archive is corrupt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The trailer's digest (or length) does not match the bytes before it.
    DigestMismatch { expected: Digest, actual: Digest },
    /// The stream ends before the compressed data or the tar stream does.
    Truncated,
    /// Undecodable compressed data or tar headers (and no trailer to say more).
    Malformed(String),
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::Corrupt(Corruption::DigestMismatch { expected, actual }) => write!(
                f,
                "corrupt archive: digest mismatch (its trailer records {expected}, its bytes hash to {actual})"
            ),
            ArchiveError::Corrupt(Corruption::Truncated) => {
                write!(f, "corrupt archive: truncated (the data ends early)")
            }
            ArchiveError::Corrupt(Corruption::Malformed(why)) => {
                write!(f, "corrupt archive: {why}")
            }
            ArchiveError::Unsafe { entry, reason } => {
                write!(f, "refusing unsafe archive entry '{entry}': {reason}")
            }
            ArchiveError::MissingInput(path) => {
                write!(f, "cannot archive {}: no such file or directory", path.display())
            }
        }
    }
}

impl std::error::Error for ArchiveError {}

impl ArchiveError {
    pub fn is_corrupt(&self) -> bool {
        matches!(self, ArchiveError::Corrupt(_))
    }
}

impl ArchiveError {
    /// The kind of library error this is: a missing input is the local filesystem's, anything
    /// else (corruption, a refused entry) the archive's.
    pub fn kind(&self) -> Kind {
        match self {
            ArchiveError::MissingInput(_) => Kind::Io,
            ArchiveError::Corrupt(_) | ArchiveError::Unsafe { .. } => Kind::Corrupt,
        }
    }
}

impl From<ArchiveError> for Error {
    fn from(err: ArchiveError) -> Self {
        Error::from_cause(err.kind(), err)
    }
}

/// The `ArchiveError` behind an error returned by this module, if there is one.
pub fn archive_error(err: &Error) -> Option<&ArchiveError> {
    err.cause::<ArchiveError>()
}

/// A failure of the stream, said with its causes (`what: cause: ...`): a decoder's error may
/// wrap the one that tells what went wrong.
fn stream_error(e: std::io::Error) -> Error {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    Error::new(Kind::Io, text)
}

fn corrupt(c: Corruption) -> Error {
    ArchiveError::Corrupt(c).into()
}

fn unsafe_entry(entry: &[u8], reason: impl Into<String>) -> Error {
    ArchiveError::Unsafe {
        entry: String::from_utf8_lossy(entry).into_owned(),
        reason: reason.into(),
    }
    .into()
}
