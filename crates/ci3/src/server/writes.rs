//! Writing entries: `If-None-Match: *` honoured on every write (412, decided before the body
//! when the entry is already there), small entries stored whole, and the answer to a write.

use std::sync::Arc;

use http::HeaderMap;

use super::body::Outcome;
use super::reply::{self, Response};
use super::{reads, Ctx};
use crate::error::{Error, Kind, Result};
use crate::store::Put;

/// Whether the request asks for the write only if nothing is there (`If-None-Match: *`).
pub fn create_only(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"*")
}

/// 412 without reading the body when a live entry `name` is there; an expired one is deleted,
/// so that the create-only write that follows can take its name.
pub async fn refuse_existing(ctx: &Arc<Ctx>, name: &str) -> Option<Response> {
    let (c, name) = (ctx.clone(), name.to_string());
    let checked = blocking(move || {
        let live = reads::live(c.store.as_ref(), &name, c.now())?;
        if !live {
            c.store.delete(&name)?;
        }
        Ok(live)
    })
    .await;
    match checked {
        Ok(false) => None,
        Ok(true) => Some(precondition_failed()),
        Err(e) => Some(reply::closing(ctx.failed("check before a write", &e))),
    }
}

/// 412: the entry exists and the write asked for none; its body is not read.
pub fn precondition_failed() -> Response {
    reply::closing(reply::text(412, "already exists\n"))
}

/// Stores a small entry (expiry header and content) and answers 204, or 412 when create-only
/// and taken.
pub async fn entry(ctx: &Arc<Ctx>, name: String, bytes: Vec<u8>, create_only: bool) -> Response {
    let c = ctx.clone();
    let what = format!("write {name}");
    match blocking(move || c.store.put_bytes(&name, &bytes, create_only)).await {
        Ok(Put::Created) => reply::empty(204),
        Ok(Put::AlreadyExists) => precondition_failed(),
        Err(e) => ctx.failed(&what, &e),
    }
}

/// The answer to a streamed write: `created` (the status) when stored, 412 when create-only
/// and taken.
pub fn answer(ctx: &Ctx, what: &str, outcome: Outcome<Put>, created: u16) -> Response {
    match outcome {
        Outcome::Stored(Put::Created) => reply::empty(created),
        Outcome::Stored(Put::AlreadyExists) => precondition_failed(),
        Outcome::Refused(response) => response,
        Outcome::Failed(e, abandoned) => {
            let response = ctx.failed(what, &e);
            match abandoned {
                true => reply::closing(response),
                false => response,
            }
        }
    }
}

/// `work` on a blocking thread: store calls block.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::new(Kind::Failed, format!("a store call stopped: {e}")))?
}
