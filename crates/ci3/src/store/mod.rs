//! Where artifacts live: a `Store` is a flat namespace of named objects.
//!
//! `backends/` holds one file per backend (`dir`, `s3`, `public`, `server`); `layers/` what wraps a store
//! (the local tarball cache in front, read-only tiers behind, the outage breaker, size caps);
//! `config` picks and assembles them from the settings; `names` names every object the project
//! writes. Failures carry a kind so that a store that could not be asked is never reported as a
//! plain miss.

mod backends;
mod config;
mod layers;
pub mod names;

use std::io::Write;
use std::path::Path;

pub use backends::dir::DirStore;
pub use backends::public::PublicStore;
pub use backends::s3::S3Store;
pub use backends::server::ServerStore;
pub use config::{open, open_for_server, Reach, S3Keys, S3Settings, Selected};
pub use layers::breaker::Breaker;
pub use layers::evict;
pub use layers::layered::{Layered, Source, Written};
pub use layers::local::LocalCache;
pub use layers::readonly::ReadOnly;
pub use layers::tiers::Tiered;
pub use names::check_name;

use crate::error::Result;
use crate::report::Reporter;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    /// Create-only and the object was already there: nothing was written.
    AlreadyExists,
}

/// A sink that only counts what it is given.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Any store as a `&dyn Store`, for the trait's own default methods.
pub trait AsStore {
    fn as_store(&self) -> &dyn Store;
}

impl<T: Store> AsStore for T {
    fn as_store(&self) -> &dyn Store {
        self
    }
}

pub trait Store: AsStore + Send + Sync {
    /// A short description for messages, e.g. `directory /home/u/.cache/ci3/store`.
    fn describe(&self) -> String;
    /// The directory holding the objects, for a store kept on this machine.
    fn local_root(&self) -> Option<&Path> {
        None
    }
    /// Whether writes need credentials that are missing (S3 without keys).
    fn can_write(&self) -> bool {
        true
    }
    /// Whether an object with exactly this name exists.
    fn exists(&self, name: &str) -> Result<bool>;
    /// Streams the object into `out`; `Ok(false)` when there is no such object.
    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool>;
    /// The size of the object, `None` when there is no such object.
    fn size(&self, name: &str) -> Result<Option<u64>> {
        let mut count = Count(0);
        Ok(self.get(name, &mut count)?.then_some(count.0))
    }
    /// As `get`, telling `sized` the object's length before its first byte, both from one
    /// version of it: a server announces the length its answer then keeps (a store that cannot
    /// say so in one go spools the object to a scratch file first).
    fn get_sized(
        &self,
        name: &str,
        sized: &mut dyn FnMut(u64),
        out: &mut dyn Write,
    ) -> Result<bool> {
        let mut spool = tempfile::tempfile()?;
        if !self.get(name, &mut spool)? {
            return Ok(false);
        }
        let len = std::io::Seek::stream_position(&mut spool)?;
        std::io::Seek::rewind(&mut spool)?;
        sized(len);
        std::io::copy(&mut spool, out).map_err(|e| {
            crate::error::Error::new(
                crate::error::Kind::Io,
                format!("cannot pass on {name}: {e}"),
            )
        })?;
        Ok(true)
    }
    /// Stores the file at `src` under `name`. With `create_only`, an existing object is kept and
    /// `Put::AlreadyExists` returned; readers never see a partly written object.
    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> Result<Put>;
    /// Stores what `reader` yields, streamed; one attempt (a stream cannot be replayed).
    /// A read error fails the write, and nothing is published.
    fn put_reader(
        &self,
        name: &str,
        reader: &mut dyn std::io::Read,
        create_only: bool,
    ) -> Result<Put>;
    /// Stores a small object.
    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> Result<Put>;
    /// Deletes the object; `Ok(false)` when there was none.
    fn delete(&self, name: &str) -> Result<bool>;
    /// The objects whose name starts with `prefix`, oldest first.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Up to `max` objects whose name starts with `prefix` and sorts after `after`, in name
    /// order; fewer than `max` only when there are no more. Names chosen so that the ones wanted
    /// first sort first are then found without listing everything under the prefix.
    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        let mut names = self.list(prefix)?;
        names.sort();
        Ok(names
            .into_iter()
            .filter(|n| after.is_none_or(|a| n.as_str() > a))
            .take(max)
            .collect())
    }
    /// A URL that reads the object without credentials for `secs` seconds, for a store that
    /// can hand one out (S3's presigned GET); `None` for one that cannot.
    fn presigned_get(&self, name: &str, secs: u32) -> Result<Option<String>> {
        let _ = (name, secs);
        Ok(None)
    }
    /// The objects under `prefix` with the Unix second each was last written, for a store whose
    /// listing says it in one go (S3); `None` for one that cannot.
    fn list_modified(&self, prefix: &str) -> Result<Option<Vec<(String, u64)>>> {
        let _ = prefix;
        Ok(None)
    }
    /// Parted uploads into this store, for a store that has them (directories, S3).
    fn parted(&self) -> Option<&dyn Parted> {
        None
    }
    /// Runs `read` against the store(s) that may hold an object until one answers `true`: this
    /// store itself, or each tier in order for a tiered store (`CI3_READ_STORES`). An error of
    /// kind `Untrusted` from one tier is said to `reporter` and the next tier tried, so that a
    /// checking reader finds a trusted object behind a refused one.
    fn read_each(
        &self,
        read: &mut dyn FnMut(&dyn Store) -> Result<bool>,
        reporter: Option<&dyn Reporter>,
    ) -> Result<bool> {
        let _ = reporter;
        read(self.as_store())
    }
}

/// The refusal of a parted upload by a store that keeps none.
/// Uploads sent in parts, possibly through several servers, nothing visible until complete.
pub trait Parted {
    /// Begins an upload of `name`: its id.
    fn begin(&self, name: &str) -> Result<String>;
    /// Stores part `number` (1 up) of upload `id`: exactly `length` bytes of `reader`; the tag
    /// that `complete` must be given for it.
    fn put_part(
        &self,
        name: &str,
        id: &str,
        number: u32,
        reader: &mut dyn std::io::Read,
        length: u64,
    ) -> Result<String>;
    /// Publishes upload `id` as `name`, its parts in the order given (number, tag), atomically
    /// and under the create-only rule of `put_file`; the upload is gone afterwards. A part
    /// missing or of another tag: a usage error, nothing published.
    fn complete(
        &self,
        name: &str,
        id: &str,
        parts: &[(u32, String)],
        create_only: bool,
    ) -> Result<Put>;
    /// Drops upload `id` and its parts (none left: not an error).
    fn abort(&self, name: &str, id: &str) -> Result<()>;
    /// Drops the uploads begun before Unix second `before` (their writers are gone); how many.
    fn sweep_uploads(&self, before: u64) -> Result<usize>;
}
