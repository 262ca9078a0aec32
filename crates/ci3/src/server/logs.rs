//! `/logs`: a log replaced by each PUT (gzipped or not, streamed into the store), read back as
//! text, listed by prefix, and browsed at `/ID`.

use std::io::Read;
use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use super::paths::Query;
use super::reads::{self, Serve};
use super::reply::{self, Response};
use super::{body, expiry, limits, objects, writes, Ctx};
use crate::error::Result;
use crate::store::{Put, Store};

/// `PUT /logs/ID?ttl=&final=`: without a ttl a log lives 14 days.
pub async fn put(
    ctx: &Arc<Ctx>,
    id: &str,
    query: &Query,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Response {
    let announced = match body::announced(headers, limits::LOG, true) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let name = objects::log(id);
    let create_only = writes::create_only(headers);
    if create_only {
        if let Some(refused) = writes::refuse_existing(ctx, &name).await {
            return refused;
        }
    }
    let header = expiry::prefix(ctx.expiry(Some(query.ttl.unwrap_or(limits::LOG_TTL))));
    let (c, what) = (ctx.clone(), format!("write {name}"));
    let outcome = body::stream(incoming, announced, limits::LOG, move |reader| {
        let mut stored = std::io::Cursor::new(header).chain(reader);
        c.store.put_reader(&name, &mut stored, create_only)
    })
    .await;
    writes::answer(ctx, &what, outcome, 204)
}

/// `GET /logs/ID`, and a browse URL `/ID` (`/ID.txt`).
pub async fn get(ctx: &Arc<Ctx>, id: &str, head: bool) -> Response {
    let how = Serve {
        content_type: reply::TEXT,
        expiring: true,
        head,
    };
    let missing = reply::text(404, format!("Log not found: {id}\n"));
    reads::object(ctx, objects::log(id), how, missing).await
}

/// `GET /logs/PREFIX/`: the live logs directly under PREFIX, sorted, one a line.
pub async fn list(ctx: &Arc<Ctx>, prefix: &str, head: bool) -> Response {
    let (c, prefix) = (ctx.clone(), prefix.to_string());
    let listed = writes::blocking(move || {
        let names = names(c.store.as_ref(), &prefix, c.now())?;
        Ok(names.into_iter().map(|id| id + "\n").collect::<String>())
    })
    .await;
    match listed {
        Ok(text) if head => reply::headers_only(reply::text(200, text)),
        Ok(text) => reply::text(200, text),
        Err(e) => ctx.failed("list logs", &e),
    }
}

/// The live logs directly under PREFIX at `now`, sorted, at most `LISTING`.
pub fn names(store: &dyn Store, prefix: &str, now: u64) -> Result<Vec<String>> {
    let dir = objects::log_dir(prefix);
    // Logs deeper down are listed too, and dropped here.
    let objects = store.list_sorted(&dir, None, limits::LISTING * 10)?;
    let mut found: Vec<(String, String)> = objects
        .iter()
        .filter_map(|object| {
            let id = object.strip_prefix(&dir)?.strip_suffix(".log")?;
            (!id.is_empty() && !id.contains('/')).then(|| (id.to_string(), object.clone()))
        })
        .collect();
    found.sort();
    found.truncate(limits::LISTING);
    let objects: Vec<String> = found.iter().map(|(_, object)| object.clone()).collect();
    let live = reads::many(&objects, |object| reads::live(store, object, now))?;
    Ok(found
        .into_iter()
        .zip(live)
        .filter(|(_, live)| *live)
        .map(|((id, _), _)| id)
        .collect())
}

/// The log ID at `now` (expiry header stripped), whole; `None` when absent or expired.
pub fn text(store: &dyn Store, id: &str, now: u64) -> Result<Option<Vec<u8>>> {
    reads::small(store, &objects::log(id), now, limits::LOG)
}

/// Replaces the log ID with what `reader` yields, expiring at `expires` (none: 14 days on).
pub fn store_text(store: &dyn Store, id: &str, reader: &mut dyn Read, expires: u64) -> Result<Put> {
    let mut stored = std::io::Cursor::new(expiry::header(expires)).chain(reader);
    store.put_reader(&objects::log(id), &mut stored, false)
}
