//! `/runs`: the CI run records a dashboard shows, by section, newest first; a section keeps its
//! newest 1,000.

use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use super::paths::Query;
use super::reads::{self, Serve};
use super::reply::{self, Response};
use super::{body, expiry, limits, objects, writes, Ctx};
use crate::error::{Error, Result};
use crate::store::Store;

/// `PUT /runs/SECTION/ID`: a JSON object with strings `status`, `msg`, `name`, `author` and a
/// number `timestamp` equal to ID.
pub async fn put(
    ctx: &Arc<Ctx>,
    section: &str,
    id: &str,
    query: &Query,
    headers: &HeaderMap,
    incoming: Incoming,
) -> Response {
    let announced = match body::announced(headers, limits::RUN, true) {
        Ok(announced) => announced,
        Err(refused) => return *refused,
    };
    let name = match objects::run(section, id) {
        Ok(name) => name,
        Err(e) => return reply::closing(reply::text(400, format!("{}\n", e.message()))),
    };
    let create_only = writes::create_only(headers);
    if create_only {
        if let Some(refused) = writes::refuse_existing(ctx, &name).await {
            return refused;
        }
    }
    let Some(raw) = body::whole(incoming, announced).await else {
        return body::incomplete();
    };
    let record = match body::decoded(raw, announced.gzip, limits::RUN) {
        Ok(record) => record,
        Err(refusal) => return refusal.reply(),
    };
    if let Err(why) = check(&record, id) {
        return reply::text(400, format!("bad run record: {why}\n"));
    }
    let mut stored = expiry::prefix(ctx.expiry(query.ttl));
    stored.extend_from_slice(&record);
    let answer = writes::entry(ctx, name, stored, create_only).await;
    if answer.status() == 204 {
        // Past the newest RUNS_KEPT: gone, so a section does not grow forever.
        let (c, section) = (ctx.clone(), section.to_string());
        let trimmed = writes::blocking(move || trim(c.store.as_ref(), &section)).await;
        if let Err(e) = trimmed {
            return ctx.failed("trim runs", &e);
        }
    }
    answer
}

/// Past the newest RUNS_KEPT: gone, so a section does not grow forever.
fn trim(store: &dyn Store, section: &str) -> Result<()> {
    let all = store.list_sorted(&objects::run_dir(section), None, usize::MAX)?;
    for old in all.iter().skip(limits::RUNS_KEPT) {
        store.delete(old)?;
    }
    Ok(())
}

/// Stores the run record ID of SECTION (checked as `PUT` checks it), expiring at `expires`.
pub fn store_record(
    store: &dyn Store,
    section: &str,
    id: &str,
    record: &[u8],
    expires: Option<u64>,
) -> Result<()> {
    let name = objects::run(section, id)?;
    if let Err(why) = check(record, id) {
        return Err(Error::usage(format!("bad run record: {why}")));
    }
    let mut stored = expiry::prefix(expires);
    stored.extend_from_slice(record);
    store.put_bytes(&name, &stored, false)?;
    trim(store, section)
}

/// The run record ID of SECTION at `now`; `None` when absent or expired.
pub fn record(store: &dyn Store, section: &str, id: &str, now: u64) -> Result<Option<Vec<u8>>> {
    match objects::run(section, id) {
        Ok(name) => reads::small(store, &name, now, limits::RUN),
        Err(_) => Ok(None),
    }
}

/// Why `record` is not a run record with this id.
fn check(record: &[u8], id: &str) -> std::result::Result<(), &'static str> {
    let value: serde_json::Value = serde_json::from_slice(record).map_err(|_| "not JSON")?;
    let object = value.as_object().ok_or("not a JSON object")?;
    for field in ["status", "msg", "name", "author"] {
        if !object.get(field).is_some_and(serde_json::Value::is_string) {
            return Err("status, msg, name and author must be strings");
        }
    }
    let id_number = id.parse::<u64>().ok();
    let timestamp = object.get("timestamp").ok_or("no timestamp")?;
    let same = match (timestamp.as_u64(), timestamp.as_f64()) {
        (Some(t), _) => Some(t) == id_number,
        (None, Some(t)) => t.fract() == 0.0 && id_number.is_some_and(|n| n as f64 == t),
        _ => false,
    };
    match same {
        true => Ok(()),
        false => Err("timestamp must be the number in the path"),
    }
}

/// `GET /runs/SECTION/ID`: the record; 404 `{}`.
pub async fn get(ctx: &Arc<Ctx>, section: &str, id: &str, head: bool) -> Response {
    let missing = reply::with_body(404, reply::JSON, "{}");
    let Ok(name) = objects::run(section, id) else {
        return missing;
    };
    let how = Serve {
        content_type: reply::JSON,
        expiring: true,
        head,
    };
    reads::object(ctx, name, how, missing).await
}

/// `GET /runs/SECTION`: a JSON array of the newest records, newest first; `[]` for none.
pub async fn section(ctx: &Arc<Ctx>, section: &str, head: bool) -> Response {
    let (c, dir) = (ctx.clone(), objects::run_dir(section));
    let records = writes::blocking(move || {
        let names = c.store.list_sorted(&dir, None, limits::RUNS_KEPT)?;
        let now = c.now();
        reads::many(&names, |name| {
            reads::small(c.store.as_ref(), name, now, limits::RUN)
        })
    })
    .await;
    match records {
        Ok(records) => {
            let mut out = b"[".to_vec();
            for (i, record) in records.into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(record.trim_ascii());
            }
            out.push(b']');
            let response = reply::with_body(200, reply::JSON, out);
            match head {
                true => reply::headers_only(response),
                false => response,
            }
        }
        Err(e) => ctx.failed("read runs", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_records() {
        let good = br#"{"status":"RUNNING","msg":"m","name":"n","author":"a","timestamp":1712}"#;
        assert_eq!(check(good, "1712"), Ok(()));
        assert!(check(good, "1713").is_err());
        assert!(check(b"[1]", "1").is_err());
        assert!(check(
            br#"{"status":1,"msg":"m","name":"n","author":"a","timestamp":1}"#,
            "1"
        )
        .is_err());
    }
}
