//! Where artifacts live: a `Store` is a flat namespace of named objects.

mod dir;

use std::path::PathBuf;

use anyhow::{bail, Result};

pub use dir::DirStore;

pub trait Store {
    /// A short description for messages, e.g. `directory /home/u/.cache/ci3/store`.
    fn describe(&self) -> String;
    /// Whether an object with exactly this name exists.
    fn exists(&self, name: &str) -> Result<bool>;
}

/// The store the environment configures (spec: ci3-tools.md section 5).
pub fn from_env() -> Result<Box<dyn Store>> {
    if let Some(url) = crate::env::non_empty("CI3_STORE") {
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                bail!("CI3_STORE={url}: a file:// store needs an absolute path (file:///abs/dir)");
            }
            return Ok(Box::new(DirStore::new(PathBuf::from(path))));
        }
        if url.starts_with("s3://") {
            bail!("CI3_STORE={url}: the S3 store is not available in this build yet");
        }
        bail!("CI3_STORE={url}: unsupported store URL (use file:///abs/dir or s3://bucket/prefix)");
    }
    if crate::env::non_empty("CI3_S3_BUCKET").is_some()
        || crate::env::non_empty("S3_BUILD_CACHE_AWS_PARAMS").is_some()
    {
        bail!("an S3 store is configured, but the S3 store is not available in this build yet");
    }
    let dir = default_dir();
    if crate::env::ci() {
        eprintln!("Note: no store configured; using the directory store {} (not shared between machines).", dir.display());
    }
    Ok(Box::new(DirStore::new(dir)))
}

/// `$XDG_CACHE_HOME/ci3/store`, else `~/.cache/ci3/store`.
fn default_dir() -> PathBuf {
    let base = crate::env::non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into())).join(".cache")
        });
    base.join("ci3").join("store")
}
