//! Where objects are kept, one file per backend: a directory (`dir`), an S3 bucket (`s3`), a
//! bucket's public read address (`public`), a ci3 server (`server`); `retry` is the one retry loop the network ones share.

pub mod dir;
pub mod public;
mod retry;
pub mod s3;
pub mod server;

use crate::error::{Error, Result};

/// The single-threaded runtime a network backend drives its async client with, so the tools
/// stay plain blocking programs.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::config(format!("cannot start the network runtime: {e}")))
}
