//! `/lists`: bounded feeds, newest first, race-free because each pushed line is an object of its
//! own (named by a countdown, so the newest sorts first); a push deletes what its `max` drops.

use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use super::paths::Query;
use super::reply::{self, Response};
use super::{body, expiry, limits, objects, reads, writes, Ctx};
use crate::error::Result;
use crate::store::{Put, Store};

/// `POST /lists/NAME?max=N&ttl=`: one line, its trailing newline dropped, inner ones spaces.
pub async fn push(
    ctx: &Arc<Ctx>,
    name: &str,
    query: &Query,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Response {
    // Room for the line's own newline (and a carriage return before it).
    let room = limits::LINE + 2;
    let announced = match body::announced(headers, room, true) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let max = query.max.unwrap_or(limits::LIST_DEFAULT);
    if max > limits::LIST_MAX {
        return reply::closing(reply::text(
            400,
            format!("max={max}: at most {}\n", limits::LIST_MAX),
        ));
    }
    let Some(raw) = body::whole(incoming, announced).await else {
        return body::incomplete();
    };
    let mut line = match body::decoded(raw, announced.gzip, room) {
        Ok(line) => line,
        Err(refusal) => return refusal.reply(),
    };
    while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
        line.pop();
    }
    if line.len() as u64 > limits::LINE {
        return body::Refusal::TooLarge(limits::LINE).reply();
    }
    for b in &mut line {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    let expires = ctx.expiry(query.ttl);
    let (c, name) = (ctx.clone(), name.to_string());
    let pushed = writes::blocking(move || {
        push_line(c.store.as_ref(), &name, &line, max, expires, c.now_micros())
    })
    .await;
    match pushed {
        Ok(()) => reply::empty(204),
        Err(e) => ctx.failed("push to a list", &e),
    }
}

/// `GET /lists/NAME` (and `/list/NAME`): the live lines, newest first; 404 when none.
pub async fn get(ctx: &Arc<Ctx>, name: &str, head: bool) -> Response {
    let (c, name) = (ctx.clone(), name.to_string());
    let lines = writes::blocking(move || lines(c.store.as_ref(), &name, c.now())).await;
    match lines {
        Ok(lines) if lines.is_empty() => reply::empty(404),
        Ok(lines) => {
            let mut out = Vec::new();
            for line in lines {
                out.extend_from_slice(&line);
                out.push(b'\n');
            }
            let response = reply::text(200, out);
            match head {
                true => reply::headers_only(response),
                false => response,
            }
        }
        Err(e) => ctx.failed("read a list", &e),
    }
}

/// Pushes `line` (a list line already: no newline, within the size) onto list NAME at `micros`,
/// expiring at `expires`, and deletes what falls past the newest `max`.
pub fn push_line(
    store: &dyn Store,
    name: &str,
    line: &[u8],
    max: u64,
    expires: Option<u64>,
    micros: u64,
) -> Result<()> {
    let mut stored = expiry::prefix(expires);
    stored.extend_from_slice(line);
    let random = crate::random::bytes::<4>()?;
    let entry = objects::list_entry(name, micros, random);
    if store.put_bytes(&entry, &stored, true)? == Put::AlreadyExists {
        return Err(crate::err!(Store, "list entry {entry} was taken"));
    }
    let all = store.list_sorted(&objects::list_dir(name), None, usize::MAX)?;
    for dropped in all.iter().skip(max as usize) {
        store.delete(dropped)?;
    }
    Ok(())
}

/// The live lines of list NAME at `now`, newest first; empty when none.
pub fn lines(store: &dyn Store, name: &str, now: u64) -> Result<Vec<Vec<u8>>> {
    let entries = store.list_sorted(&objects::list_dir(name), None, limits::LIST_MAX as usize)?;
    let lines = reads::many(&entries, |entry| {
        reads::small(store, entry, now, limits::LINE + 2)
    })?;
    Ok(lines.into_iter().flatten().collect())
}
