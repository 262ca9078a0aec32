//! Where artifacts live: a `Store` is a flat namespace of named objects.
//!
//! One file per backend (`dir`, `s3`); `config` reads the environment to pick one. Failures carry
//! a kind so that the tools can tell a miss from a denied, unreachable or corrupt store: a store
//! that could not be asked is never reported as a plain miss.

mod config;
mod dir;
mod public;
mod s3;

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub use config::{from_env, S3Settings, Selected};
pub use dir::DirStore;
pub use public::PublicStore;
pub use s3::S3Store;

/// Why a store operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Credentials refused (HTTP 401/403) or missing where required.
    Denied,
    /// The store could not be reached (connection refused, timeout, 5xx after retries).
    Unreachable,
    /// The store answered something that makes no sense.
    Other,
}

#[derive(Debug)]
pub struct StoreError {
    pub failure: Failure,
    pub message: String,
}

impl StoreError {
    pub fn new(failure: Failure, message: impl Into<String>) -> Self {
        StoreError {
            failure,
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.failure {
            Failure::Denied => "denied",
            Failure::Unreachable => "unreachable",
            Failure::Other => "store error",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    /// Create-only and the object was already there: nothing was written.
    AlreadyExists,
}

pub trait Store {
    /// A short description for messages, e.g. `directory /home/u/.cache/ci3/store`.
    fn describe(&self) -> String;
    /// Whether writes need credentials that are missing (S3 without keys).
    fn can_write(&self) -> bool {
        true
    }
    /// Whether an object with exactly this name exists.
    fn exists(&self, name: &str) -> StoreResult<bool>;
    /// Streams the object into `out`; `Ok(false)` when there is no such object.
    fn get(&self, name: &str, out: &mut dyn Write) -> StoreResult<bool>;
    /// Stores the file at `src` under `name`. With `create_only`, an existing object is kept and
    /// `Put::AlreadyExists` returned; readers never see a partly written object.
    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> StoreResult<Put>;
    /// Stores what `reader` yields, streamed; one attempt (a stream cannot be replayed).
    /// A read error fails the write, and nothing is published.
    fn put_reader(
        &self,
        name: &str,
        reader: &mut dyn std::io::Read,
        create_only: bool,
    ) -> StoreResult<Put>;
    /// Stores a small object.
    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> StoreResult<Put>;
    /// Deletes the object; `Ok(false)` when there was none.
    fn delete(&self, name: &str) -> StoreResult<bool>;
    /// The objects whose name starts with `prefix`, oldest first.
    fn list(&self, prefix: &str) -> StoreResult<Vec<String>>;
}

/// Tries per request for transient failures (connection, timeout, 5xx, 429).
pub(crate) const ATTEMPTS: u32 = 3;

/// The pause before attempt `attempt + 1`: 150 ms, then 600 ms.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(150 * 4u64.pow(attempt - 1))
}

/// A request timeout: `var` in seconds when set to a number, else `default_secs`.
/// `CI3_S3_TIMEOUT` bounds short requests, `CI3_S3_TRANSFER_TIMEOUT` transfers of artifacts.
pub(crate) fn timeout(var: &str, default_secs: u64) -> Duration {
    let secs = crate::env::non_empty(var)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_secs);
    Duration::from_secs(secs)
}

/// Refuses names that could address something outside the store's namespace.
pub fn check_name(name: &str) -> StoreResult<()> {
    if name.is_empty()
        || name.starts_with('/')
        || name
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        || name.contains('\0')
    {
        return Err(StoreError::new(
            Failure::Other,
            format!("invalid artifact name '{name}'"),
        ));
    }
    Ok(())
}
