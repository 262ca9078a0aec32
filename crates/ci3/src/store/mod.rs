//! Where artifacts live: a `Store` is a flat namespace of named objects.
//!
//! One file per backend (`dir`, `s3`, `public`); `config` picks one from the settings; `names`
//! names every object the project writes; `retry` is the one retry loop the backends share;
//! `layered` puts the local tarball cache in front of any store; `tiers` puts read-only stores
//! (`readonly`, `CI3_READ_STORES`) behind the one written to. Failures carry a kind so that a
//! store that could not be asked is never reported as a plain miss.

mod breaker;
mod config;
mod dir;
pub mod evict;
mod layered;
pub mod names;
mod public;
mod readonly;
mod retry;
mod s3;
mod tiers;

use std::io::Write;
use std::path::Path;

pub use breaker::Breaker;
pub use config::{open, S3Keys, S3Settings, Selected};
pub use dir::DirStore;
pub use layered::{Layered, LocalCache, Source, Written};
pub use names::check_name;
pub use public::PublicStore;
pub use readonly::ReadOnly;
pub use s3::S3Store;
pub use tiers::Tiered;

use crate::error::Result;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    /// Create-only and the object was already there: nothing was written.
    AlreadyExists,
}

pub trait Store: Send + Sync {
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
    /// The stores read in order, when this one is several tiers (`CI3_READ_STORES`): a reader
    /// that refuses what one tier holds can try the next.
    fn read_tiers(&self) -> Option<Vec<&dyn Store>> {
        None
    }
}

/// The single-threaded runtime a network backend drives its async client with, so the tools
/// stay plain blocking programs.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::config(format!("cannot start the network runtime: {e}")))
}
