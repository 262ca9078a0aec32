//! The sizes a server refuses with 413 (decided from `Content-Length` before a byte of the body
//! is read, and again on what a gzipped body decompresses to) and the caps on what it lists.

/// A log, decompressed.
pub const LOG: u64 = 64 << 20;
/// A kv value.
pub const KV: u64 = 64 << 10;
/// A list line, after its trailing newline is dropped.
pub const LINE: u64 = 16 << 10;
/// A run record.
pub const RUN: u64 = 1 << 20;
/// A `POST /kv/mget` body, and the keys it may hold.
pub const MGET: u64 = 1 << 20;
pub const MGET_KEYS: usize = 10_000;
/// An event (read and discarded).
pub const EVENT: u64 = 1 << 20;
/// A part of a parted upload (the client sends 8 MiB ones; S3 wants 5 MiB but the last).
pub const PART: u64 = 16 << 20;
/// The parts of one upload (S3's cap), and the body naming them at completion.
pub const PARTS: u64 = 10_000;
pub const PARTS_LIST: u64 = 1 << 20;
/// A parted upload unchanged this long was left by a writer that is gone: the sweep drops it.
pub const STALE_UPLOAD: u64 = 86400;
/// A request's head: beyond it, 431.
pub const HEADERS: usize = 64 << 10;

/// A list keeps this many newest lines unless a push says `max=`; no push may ask more.
pub const LIST_DEFAULT: u64 = 1000;
pub const LIST_MAX: u64 = 100_000;
/// A section of runs keeps its newest records, and lists them.
pub const RUNS_KEPT: usize = 1000;
/// The names a `GET /logs/PREFIX/` or `GET /objects/` answers at most.
pub const LISTING: usize = 10_000;
/// A log written without a ttl expires after 14 days (upstream's CI retention).
pub const LOG_TTL: u64 = 14 * 86400;
