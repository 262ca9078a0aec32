//! `/kv`: values (the test cache, heartbeats), one object each, and `POST /kv/mget`, the batch
//! read that answers exactly one line per key.

use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use super::paths::{self, Query};
use super::reads::{self, Serve};
use super::reply::{self, Response};
use super::{body, expiry, limits, objects, writes, Ctx};
use crate::error::{Error, Result};
use crate::store::{Put, Store};

/// `PUT /kv/KEY?ttl=`
pub async fn put(
    ctx: &Arc<Ctx>,
    key: &str,
    query: &Query,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Response {
    let announced = match body::announced(headers, limits::KV, true) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let name = objects::kv(key);
    let create_only = writes::create_only(headers);
    if create_only {
        if let Some(refused) = writes::refuse_existing(ctx, &name).await {
            return refused;
        }
    }
    let Some(raw) = body::whole(incoming, announced).await else {
        return body::incomplete();
    };
    let value = match body::decoded(raw, announced.gzip, limits::KV) {
        Ok(value) => value,
        Err(refusal) => return refusal.reply(),
    };
    let mut stored = expiry::prefix(ctx.expiry(query.ttl));
    stored.extend_from_slice(&value);
    writes::entry(ctx, name, stored, create_only).await
}

/// `GET /kv/KEY`
pub async fn get(ctx: &Arc<Ctx>, key: &str, head: bool) -> Response {
    let how = Serve {
        content_type: reply::TEXT,
        expiring: true,
        head,
    };
    reads::object(ctx, objects::kv(key), how, reply::empty(404)).await
}

/// `POST /kv/mget`: a key a line in; a line per key out, in order: the value without its
/// trailing newlines, empty for a miss or a key that is no valid name.
pub async fn mget(ctx: &Arc<Ctx>, headers: &HeaderMap, incoming: Incoming) -> Response {
    let announced = match body::announced(headers, limits::MGET, true) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let Some(raw) = body::whole(incoming, announced).await else {
        return body::incomplete();
    };
    let text = match body::decoded(raw, announced.gzip, limits::MGET) {
        Ok(text) => String::from_utf8_lossy(&text).into_owned(),
        Err(refusal) => return refusal.reply(),
    };
    let mut keys: Vec<String> = text.split('\n').map(String::from).collect();
    if keys.last().is_some_and(String::is_empty) {
        keys.pop();
    }
    if keys.len() > limits::MGET_KEYS {
        return reply::text(
            413,
            format!("at most {} keys a request\n", limits::MGET_KEYS),
        );
    }
    let c = ctx.clone();
    let values = writes::blocking(move || values(c.store.as_ref(), &keys, c.now())).await;
    match values {
        Ok(values) => {
            let mut out = Vec::new();
            for value in values {
                out.extend_from_slice(&value);
                out.push(b'\n');
            }
            reply::text(200, out)
        }
        Err(e) => ctx.failed("read keys", &e),
    }
}

/// The value of KEY at `now` (expiry header stripped); `None` when absent, expired, or KEY is
/// no valid name.
pub fn value(store: &dyn Store, key: &str, now: u64) -> Result<Option<Vec<u8>>> {
    match paths::key_line(key) {
        Some(key) => reads::small(store, &objects::kv(&key), now, limits::KV),
        None => Ok(None),
    }
}

/// What `mget` answers for each key, in order: the value without its trailing newlines, empty
/// for a miss or a key that is no valid name.
pub fn values(store: &dyn Store, keys: &[String], now: u64) -> Result<Vec<Vec<u8>>> {
    let found = reads::many(keys, |key| value(store, key, now))?;
    Ok(found
        .into_iter()
        .map(|value| {
            let mut value = value.unwrap_or_default();
            let end = value.iter().rposition(|&b| b != b'\n').map_or(0, |i| i + 1);
            value.truncate(end);
            value
        })
        .collect())
}

/// Stores KEY's value, expiring at `expires` (Unix seconds; none: kept).
pub fn store_value(
    store: &dyn Store,
    key: &str,
    value: &[u8],
    expires: Option<u64>,
    create_only: bool,
) -> Result<Put> {
    let Some(key) = paths::key_line(key) else {
        return Err(Error::usage(format!("bad key: {key}")));
    };
    if value.len() as u64 > limits::KV {
        return Err(Error::usage(format!("a value over {} bytes", limits::KV)));
    }
    let mut stored = expiry::prefix(expires);
    stored.extend_from_slice(value);
    store.put_bytes(&objects::kv(&key), &stored, create_only)
}
