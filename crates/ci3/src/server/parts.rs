//! Our parted uploads of `/objects` (full mode only), so that a client sends a stream of unknown
//! length as it is produced, several parts at once: `POST ?uploads` begins one (its id in the
//! body), `PUT ?upload=ID&part=N` stores a part of at most `limits::PART` bytes (its tag in
//! `ETag`), `POST ?upload=ID&complete` with lines `N TAG` publishes it under §3.4's create-only
//! rules, `DELETE ?upload=ID` drops it. All of it is kept in the store (S3's multipart uploads,
//! a directory store's `.ci3-uploads/`), so any server over the store takes any request.

use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use super::paths::Query;
use super::reply::{self, Response};
use super::{body, limits, writes, Ctx};
use crate::error::{Error, Kind};
use crate::store::Put;

/// `POST /objects/NAME?uploads` or `?upload=ID&complete`.
pub async fn post(
    ctx: &Arc<Ctx>,
    name: String,
    query: &Query,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Response {
    match (&query.upload, query.uploads, query.complete) {
        (None, true, false) => begin(ctx, name, headers).await,
        (Some(id), false, true) => complete(ctx, name, id.clone(), headers, incoming).await,
        _ => reply::closing(reply::text(
            400,
            "POST /objects/NAME takes ?uploads or ?upload=ID&complete\n",
        )),
    }
}

/// Begins an upload: its id. With `If-None-Match: *`, 412 when the object is there already.
async fn begin(ctx: &Arc<Ctx>, name: String, headers: &HeaderMap) -> Response {
    if writes::create_only(headers) {
        if let Some(refused) = writes::refuse_existing(ctx, &name).await {
            return refused;
        }
    }
    let (c, n) = (ctx.clone(), name.clone());
    match writes::blocking(move || c.parted()?.begin(&n)).await {
        Ok(id) => reply::text(200, id),
        Err(e) => refused(ctx, &format!("begin an upload of {name}"), &e),
    }
}

/// `PUT /objects/NAME?upload=ID&part=N`: the part streamed into the store; 200 with its tag.
pub async fn put(
    ctx: &Arc<Ctx>,
    name: String,
    query: &Query,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Response {
    let (Some(id), Some(number)) = (query.upload.clone(), query.part) else {
        return reply::closing(reply::text(400, "a part needs ?upload=ID&part=N\n"));
    };
    if number > limits::PARTS {
        return reply::closing(reply::text(
            400,
            format!("part={number}: at most {}\n", limits::PARTS),
        ));
    }
    let announced = match body::announced(headers, limits::PART, false) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let (c, what) = (ctx.clone(), format!("write part {number} of {name}"));
    let length = announced.length;
    let outcome = body::stream(incoming, announced, length, move |reader| {
        c.parted()?
            .put_part(&name, &id, number as u32, reader, length)
    })
    .await;
    match outcome {
        body::Outcome::Stored(tag) => reply::header(reply::empty(200), "etag", &tag),
        body::Outcome::Refused(response) => response,
        body::Outcome::Failed(e, abandoned) => {
            let response = refused(ctx, &what, &e);
            match abandoned {
                true => reply::closing(response),
                false => response,
            }
        }
    }
}

/// Publishes the upload from the parts its body names, one `N TAG` a line in order: 201, or as
/// a PUT of the object would answer when it exists (412 with `If-None-Match: *`, else kept
/// with 200 `X-CI3-Existed: 1` unless `X-CI3-Overwrite: 1` or the name is under `.ci3/`).
async fn complete(
    ctx: &Arc<Ctx>,
    name: String,
    id: String,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Response {
    let announced = match body::announced(headers, limits::PARTS_LIST, false) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let Some(text) = body::whole(incoming, announced).await else {
        return body::incomplete();
    };
    let parts = match parse_parts(&text) {
        Ok(parts) => parts,
        Err(why) => return reply::text(400, format!("{}\n", why.message())),
    };
    let if_none_match = writes::create_only(headers);
    let overwrite = headers
        .get("x-ci3-overwrite")
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1");
    let kept = !name.starts_with(crate::store::names::RESERVED);
    let create_only = if_none_match || (kept && !overwrite);
    let (c, n) = (ctx.clone(), name.clone());
    let done = writes::blocking(move || c.parted()?.complete(&n, &id, &parts, create_only)).await;
    match done {
        Ok(Put::Created) => reply::empty(201),
        Ok(Put::AlreadyExists) if if_none_match => writes::precondition_failed(),
        Ok(Put::AlreadyExists) => reply::header(reply::empty(200), "x-ci3-existed", "1"),
        Err(e) => refused(ctx, &format!("complete an upload of {name}"), &e),
    }
}

/// `DELETE /objects/NAME?upload=ID`: 204, whether or not the upload was still there.
pub async fn abort(ctx: &Arc<Ctx>, name: String, query: &Query) -> Response {
    let id = query.upload.clone().unwrap_or_default();
    let (c, n) = (ctx.clone(), name.clone());
    match writes::blocking(move || c.parted()?.abort(&n, &id)).await {
        Ok(()) => reply::empty(204),
        Err(e) => refused(ctx, &format!("abort an upload of {name}"), &e),
    }
}

/// The parts a completion names: `N TAG` lines, numbers rising.
fn parse_parts(body: &[u8]) -> crate::error::Result<Vec<(u32, String)>> {
    let bad = |why: String| Error::usage(why);
    let text = std::str::from_utf8(body).map_err(|_| bad("the parts are not text".into()))?;
    let mut parts: Vec<(u32, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (number, tag) = line
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad(format!("not `N TAG`: {line:?}")))?;
        let number: u32 = number
            .parse()
            .ok()
            .filter(|&n| n >= 1 && u64::from(n) <= limits::PARTS)
            .ok_or_else(|| bad(format!("not a part number: {number:?}")))?;
        if parts.last().is_some_and(|(last, _)| *last >= number) {
            return Err(bad(format!("part {number} out of order")));
        }
        parts.push((number, tag.trim().to_string()));
    }
    if parts.is_empty() {
        return Err(bad("no parts named".into()));
    }
    Ok(parts)
}

/// 400 for what the client asked wrong (no such upload, a part missing), 501 for a store that
/// keeps no parted uploads, else 502 with the cause in the server's log.
fn refused(ctx: &Ctx, what: &str, e: &Error) -> Response {
    match e.kind() {
        Kind::Usage => reply::text(400, format!("{}\n", e.message())),
        Kind::Config => reply::text(501, format!("{}\n", e.message())),
        _ => ctx.failed(what, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_named_at_completion() {
        let parsed = parse_parts(b"1 \"a\"\n2 \"b\"\n").unwrap();
        assert_eq!(parsed, vec![(1, "\"a\"".into()), (2, "\"b\"".into())]);
        assert!(parse_parts(b"2 a\n1 b\n").is_err());
        assert!(parse_parts(b"0 a\n").is_err());
        assert!(parse_parts(b"").is_err());
        assert!(parse_parts(b"1\n").is_err());
    }
}
