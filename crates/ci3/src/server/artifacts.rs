//! `/artifacts` and our `/objects`: bytes streamed verbatim into the store's atomic write.
//! Artifacts are create-only: an existing one is kept (412 before the body with
//! `If-None-Match: *`; else the body is read and dropped, 200 `X-CI3-Existed: 1`) unless
//! `X-CI3-Overwrite: 1` asks to replace it.

use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use super::paths::Query;
use super::reads::{self, Serve};
use super::reply::{self, Response};
use super::{body, limits, writes, Ctx};
use crate::store::Put;

/// `PUT /artifacts/NAME` or `PUT /objects/NAME`. `kept` when the create-only rule holds for
/// the name (every artifact; objects outside `.ci3/`).
pub async fn put(
    ctx: &Arc<Ctx>,
    name: String,
    headers: &HeaderMap,
    incoming: Incoming,
    kept: bool,
) -> Response {
    let announced = match body::announced(headers, ctx.max_artifact_size, false) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let if_none_match = writes::create_only(headers);
    let overwrite = headers
        .get("x-ci3-overwrite")
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1");
    let create_only = if_none_match || (kept && !overwrite);
    if create_only {
        let (c, n) = (ctx.clone(), name.clone());
        match writes::blocking(move || c.store.exists(&n)).await {
            Ok(false) => {}
            Ok(true) if if_none_match => return writes::precondition_failed(),
            Ok(true) => return existed(body::discard(incoming, announced).await),
            Err(e) => return reply::closing(ctx.failed(&format!("check {name}"), &e)),
        }
    }
    let (c, what, target) = (ctx.clone(), format!("write {name}"), name.clone());
    let outcome = body::stream(incoming, announced, announced.length, move |reader| {
        c.store.put_reader(&name, reader, create_only)
    })
    .await;
    let outcome = match outcome {
        // An S3 server refusing a create-only write may close the connection before taking the
        // body: the write fails without a status, and only the object's presence says why.
        body::Outcome::Failed(e, abandoned) if create_only => {
            let c = ctx.clone();
            match writes::blocking(move || c.store.exists(&target)).await {
                Ok(true) => body::Outcome::Stored(Put::AlreadyExists),
                _ => body::Outcome::Failed(e, abandoned),
            }
        }
        outcome => outcome,
    };
    match outcome {
        // Another writer won the race while this body streamed: kept, as if it had been first.
        body::Outcome::Stored(Put::AlreadyExists) if !if_none_match => existed(true),
        outcome => writes::answer(ctx, &what, outcome, 201),
    }
}

/// 200 `X-CI3-Existed: 1`: the artifact was there and is kept; the body was read and dropped.
fn existed(whole: bool) -> Response {
    match whole {
        true => reply::header(reply::empty(200), "x-ci3-existed", "1"),
        false => body::incomplete(),
    }
}

/// How long a download URL handed out by `--redirect-reads` works, seconds.
const REDIRECT_SECS: u32 = 300;

/// `GET /artifacts/NAME` under `--redirect-reads`: 302 to a presigned URL of an object that
/// exists (404 otherwise, so that a miss costs the client no second request).
pub async fn redirect(ctx: &Arc<Ctx>, name: String) -> Response {
    let (c, n) = (ctx.clone(), name.clone());
    let url = writes::blocking(move || match c.store.exists(&n)? {
        true => c.store.presigned_get(&n, REDIRECT_SECS),
        false => Ok(None),
    })
    .await;
    match url {
        Ok(Some(url)) => reply::header(reply::empty(302), "location", &url),
        Ok(None) => reply::empty(404),
        Err(e) => ctx.failed(&format!("presign {name}"), &e),
    }
}

/// `GET`/`HEAD /artifacts/NAME` and `/objects/NAME`: the bytes as stored.
pub async fn get(ctx: &Arc<Ctx>, name: String, head: bool) -> Response {
    if head {
        let (c, n) = (ctx.clone(), name.clone());
        return match writes::blocking(move || c.store.size(&n)).await {
            Ok(Some(len)) => reply::streamed(reply::BYTES, len, None),
            Ok(None) => reply::empty(404),
            Err(e) => ctx.failed(&format!("check {name}"), &e),
        };
    }
    let how = Serve {
        content_type: reply::BYTES,
        expiring: false,
        head: false,
    };
    reads::object(ctx, name, how, reply::empty(404)).await
}

/// `DELETE /objects/NAME`: 204, or 404 when there was none.
pub async fn delete(ctx: &Arc<Ctx>, name: String) -> Response {
    let (c, n) = (ctx.clone(), name.clone());
    match writes::blocking(move || c.store.delete(&n)).await {
        Ok(true) => reply::empty(204),
        Ok(false) => reply::empty(404),
        Err(e) => ctx.failed(&format!("delete {name}"), &e),
    }
}

/// `GET /objects/?prefix=P&after=A&max=N[&order=modified]`: names, one a line, in byte order
/// after A, or oldest first.
pub async fn list(ctx: &Arc<Ctx>, query: &Query, head: bool) -> Response {
    let prefix = query.prefix.clone().unwrap_or_default();
    let after = query.after.clone();
    let max = query.max.unwrap_or(1000);
    let by_age = match query.order.as_deref() {
        None | Some("name") => false,
        Some("modified") => true,
        Some(other) => return reply::text(400, format!("order={other}: name or modified\n")),
    };
    if max > limits::LISTING as u64 {
        return reply::text(400, format!("max={max}: at most {}\n", limits::LISTING));
    }
    let dir = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
    if prefix.starts_with('/')
        || prefix.contains(['\0', '\n', '\\'])
        || (!dir.is_empty() && crate::store::check_name(dir).is_err())
    {
        return reply::text(400, format!("bad prefix {prefix:?}\n"));
    }
    let c = ctx.clone();
    let names = writes::blocking(move || match by_age {
        true => Ok(c
            .store
            .list(&prefix)?
            .into_iter()
            .take(max as usize)
            .collect()),
        false => c.store.list_sorted(&prefix, after.as_deref(), max as usize),
    })
    .await;
    match names {
        Ok(names) => {
            let text: String = names.into_iter().map(|n| n + "\n").collect();
            let response = reply::text(200, text);
            match head {
                true => reply::headers_only(response),
                false => response,
            }
        }
        Err(e) => ctx.failed("list objects", &e),
    }
}
