//! `/lists`: bounded feeds, newest first, race-free because each pushed line is an object of its
//! own (named by a countdown, so the newest sorts first); a push deletes what its `max` drops.

use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use super::paths::Query;
use super::reply::{self, Response};
use super::{body, expiry, limits, objects, reads, writes, Ctx};
use crate::store::Put;

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
    let mut stored = expiry::prefix(ctx.expiry(query.ttl));
    stored.extend_from_slice(&line);
    let (c, name) = (ctx.clone(), name.to_string());
    let pushed = writes::blocking(move || {
        let random = crate::random::bytes::<4>()?;
        let entry = objects::list_entry(&name, c.now_micros(), random);
        if c.store.put_bytes(&entry, &stored, true)? == Put::AlreadyExists {
            return Err(crate::err!(Store, "list entry {entry} was taken"));
        }
        let dir = objects::list_dir(&name);
        let all = c.store.list_sorted(&dir, None, usize::MAX)?;
        for dropped in all.iter().skip(max as usize) {
            c.store.delete(dropped)?;
        }
        Ok(())
    })
    .await;
    match pushed {
        Ok(()) => reply::empty(204),
        Err(e) => ctx.failed("push to a list", &e),
    }
}

/// `GET /lists/NAME` (and `/list/NAME`): the live lines, newest first; 404 when none.
pub async fn get(ctx: &Arc<Ctx>, name: &str, head: bool) -> Response {
    let (c, dir) = (ctx.clone(), objects::list_dir(name));
    let lines = writes::blocking(move || {
        let entries = c.store.list_sorted(&dir, None, limits::LIST_MAX as usize)?;
        let now = c.now();
        let lines = reads::many(&entries, |entry| {
            reads::small(c.store.as_ref(), entry, now, limits::LINE + 2)
        })?;
        Ok(lines.into_iter().flatten().collect::<Vec<_>>())
    })
    .await;
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
