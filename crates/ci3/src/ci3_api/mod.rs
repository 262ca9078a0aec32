//! The ci3 server's API as our tools and `ci3_client` call it: which server (§2.1's resolution:
//! `CI3_SERVER`, else a server on `localhost:4275`, else the configured store in-process), and
//! each call (kv, logs, lists, runs, artifacts) over HTTP or straight over the store.
//!
//! Requests go through the one transport to a ci3 server (`crate::remote`); `resolve` decides
//! the backend; `client` is `ci3_client`'s commands.

pub mod client;
pub mod resolve;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::remote::{encode, Body, Connection, Method, Request};

use crate::clock::{now_micros, now_secs};
use crate::error::{Error, Kind, Result};
use crate::server::entries;
use crate::store::Store;

pub use resolve::{connect, Resolved};

/// Logs asked to live 14 days in CI, 2 locally; artifacts and test-cache entries a week.
pub const LOG_TTL_CI: u64 = 14 * 86400;
pub const LOG_TTL_LOCAL: u64 = 2 * 86400;
pub const ARTIFACT_TTL: u64 = 7 * 86400;

/// Where the calls go.
pub enum Backend {
    Http(Arc<Connection>),
    /// No server: the routes' objects straight in this store (§3.5's mapping).
    Local(Box<dyn Store>),
    /// Neither: writes are dropped, reads find nothing.
    Off,
}

/// How long a request may take: 30 s, a log 60 s (a final one 300 s), artifacts 600 s.
const SHORT: Duration = Duration::from_secs(30);
const LOG_WAIT: Duration = Duration::from_secs(60);
const FINAL_WAIT: Duration = Duration::from_secs(300);
const ARTIFACT_WAIT: Duration = Duration::from_secs(600);

/// A whole answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// `method` of `path` (with its query) through the server's connection, ending within `wait`;
/// the whole answer read (a HEAD's announced length has no body to check).
fn call(
    conn: &Connection,
    method: Method,
    path: &str,
    body: Body,
    headers: &[(&'static str, &str)],
    wait: Duration,
) -> Result<Answer> {
    let head = method == Method::HEAD;
    let mut request = Request::new(method, path).body(body).timeout(wait);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = conn.send(request)?;
    let status = response.status();
    let body = match head {
        true => Vec::new(),
        false => response.bytes()?,
    };
    Ok(Answer { status, body })
}

/// GET `path` into `out`, ending within `wait`: `Ok(false)` when not 200 (nothing written); a
/// body shorter than its `Content-Length` is `Corrupt`.
fn fetch(conn: &Connection, path: &str, wait: Duration, out: &mut dyn Write) -> Result<bool> {
    let response = conn.send(Request::get(path).timeout(wait))?;
    if response.status() != 200 {
        return Ok(false);
    }
    response.copy_to(out)?;
    Ok(true)
}

/// The status of a write that was not taken, as an error.
fn refused(what: &str, status: u16) -> Error {
    let kind = match status {
        401 | 403 => Kind::Denied,
        _ => Kind::Store,
    };
    Error::new(kind, format!("{what}: the server answered {status}"))
}

/// A name the routes take, or an error saying which.
fn checked(name: &str, what: &str) -> Result<String> {
    entries::valid_name(name).ok_or_else(|| Error::usage(format!("bad {what}: {name}")))
}

impl Backend {
    fn off() -> Error {
        Error::new(Kind::Miss, "No ci3 server available.")
    }

    /// One line per key, in order: the value, empty for a miss. A failure or a wrong count of
    /// lines reads as all misses: callers index the answer by position.
    pub fn kv_get(&self, keys: &[String]) -> Vec<String> {
        let answer =
            match self {
                Backend::Off => None,
                Backend::Local(store) => entries::kv_mget(store.as_ref(), keys, now_secs())
                    .ok()
                    .map(|values| {
                        values
                            .into_iter()
                            .map(|v| String::from_utf8_lossy(&v).into_owned())
                            .collect::<Vec<_>>()
                    }),
                Backend::Http(remote) if keys.len() == 1 => {
                    let path = format!("/kv/{}", encode(&keys[0]));
                    call(remote, Method::GET, &path, Body::Empty, &[], SHORT)
                        .ok()
                        .map(|a| {
                            let value = match a.status {
                                200 => String::from_utf8_lossy(&a.body).into_owned(),
                                _ => String::new(),
                            };
                            vec![value.trim_end_matches('\n').to_string()]
                        })
                }
                Backend::Http(remote) => {
                    let body = keys.iter().map(|k| format!("{k}\n")).collect::<String>();
                    let answer = call(
                        remote,
                        Method::POST,
                        "/kv/mget",
                        Body::Bytes(body.into_bytes()),
                        &[],
                        SHORT,
                    );
                    answer.ok().filter(|a| a.status == 200).map(|a| {
                        let text = String::from_utf8_lossy(&a.body).into_owned();
                        let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
                        if lines.last().is_some_and(String::is_empty) {
                            lines.pop();
                        }
                        lines
                    })
                }
            };
        match answer {
            Some(lines) if lines.len() == keys.len() => lines,
            _ => vec![String::new(); keys.len()],
        }
    }

    /// Sets KEY, expiring after `ttl` seconds (none: the server's retention).
    pub fn kv_set(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<()> {
        match self {
            Backend::Off => Ok(()),
            Backend::Local(store) => {
                let expires = ttl.map(|t| now_secs() + t);
                entries::kv_set(store.as_ref(), key, value.as_bytes(), expires, false).map(drop)
            }
            Backend::Http(remote) => {
                let query = ttl.map(|t| format!("?ttl={t}")).unwrap_or_default();
                let path = format!("/kv/{}{query}", encode(key));
                let body = Body::Bytes(value.as_bytes().to_vec());
                let answer = call(remote, Method::PUT, &path, body, &[], SHORT)?;
                match answer.status {
                    200..=299 => Ok(()),
                    s => Err(refused(&format!("kv_set {key}"), s)),
                }
            }
        }
    }

    /// Replaces log ID (gzipped on the wire), expiring after `ttl`; `last` marks its final write.
    pub fn log_put(&self, id: &str, text: &[u8], ttl: u64, last: bool) -> Result<()> {
        match self {
            Backend::Off => Ok(()),
            Backend::Local(store) => {
                let id = checked(id, "log id")?;
                entries::log_put(store.as_ref(), &id, &mut &text[..], now_secs() + ttl).map(drop)
            }
            Backend::Http(remote) => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(text)?;
                let body = Body::Bytes(gz.finish()?);
                let path = format!("/logs/{}?ttl={ttl}&final={}", encode(id), u8::from(last));
                let wait = if last { FINAL_WAIT } else { LOG_WAIT };
                let headers = [("Content-Encoding", "gzip")];
                let answer = call(remote, Method::PUT, &path, body, &headers, wait)?;
                match answer.status {
                    200..=299 => Ok(()),
                    s => Err(refused(&format!("log_put {id}"), s)),
                }
            }
        }
    }

    /// Log ID into `out`; `Ok(false)` when there is none.
    pub fn log_get(&self, id: &str, out: &mut dyn Write) -> Result<bool> {
        match self {
            Backend::Off => Err(Self::off()),
            Backend::Local(store) => {
                let Some(id) = entries::valid_name(id) else {
                    return Ok(false);
                };
                write_found(entries::log_get(store.as_ref(), &id, now_secs())?, out)
            }
            Backend::Http(remote) => {
                let path = format!("/logs/{}", encode(id));
                fetch(remote, &path, Duration::from_secs(120), out)
            }
        }
    }

    /// The ids of the logs directly under PREFIX, one a line; `None` when they cannot be listed.
    pub fn log_list(&self, prefix: &str) -> Result<Option<Vec<u8>>> {
        let prefix = prefix.trim_matches('/');
        match self {
            Backend::Off => Err(Self::off()),
            Backend::Local(store) => {
                if !prefix.is_empty() && entries::valid_name(prefix).is_none() {
                    return Ok(None);
                }
                let names = entries::log_list(store.as_ref(), prefix, now_secs())?;
                Ok(Some(
                    names
                        .into_iter()
                        .map(|n| n + "\n")
                        .collect::<String>()
                        .into_bytes(),
                ))
            }
            Backend::Http(remote) => {
                let path = match prefix {
                    "" => "/logs/".to_string(),
                    p => format!("/logs/{}/", encode(p)),
                };
                let answer = call(remote, Method::GET, &path, Body::Empty, &[], SHORT)?;
                Ok((answer.status == 200).then_some(answer.body))
            }
        }
    }

    /// Prepends LINE to list NAME, which keeps its newest `max`.
    pub fn list_push(&self, name: &str, line: &str, max: Option<u64>) -> Result<()> {
        match self {
            Backend::Off => Ok(()),
            Backend::Local(store) => {
                let name = checked(name, "list name")?;
                let line = line
                    .trim_end_matches(['\n', '\r'])
                    .replace(['\n', '\r'], " ");
                if line.len() as u64 > entries::LINE_MAX {
                    return Err(Error::usage(format!(
                        "a list line over {} bytes",
                        entries::LINE_MAX
                    )));
                }
                let max = max.unwrap_or(entries::LIST_DEFAULT);
                entries::list_push(
                    store.as_ref(),
                    &name,
                    line.as_bytes(),
                    max,
                    None,
                    now_micros(),
                )
            }
            Backend::Http(remote) => {
                let query = max.map(|m| format!("?max={m}")).unwrap_or_default();
                let path = format!("/lists/{}{query}", encode(name));
                let body = Body::Bytes(format!("{line}\n").into_bytes());
                let answer = call(remote, Method::POST, &path, body, &[], SHORT)?;
                match answer.status {
                    200..=299 => Ok(()),
                    s => Err(refused(&format!("list_push {name}"), s)),
                }
            }
        }
    }

    /// List NAME, newest first, into `out`; `Ok(false)` when it has no line.
    pub fn list_get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        match self {
            Backend::Off => Err(Self::off()),
            Backend::Local(store) => {
                let Some(name) = entries::valid_name(name) else {
                    return Ok(false);
                };
                let lines = entries::list_get(store.as_ref(), &name, now_secs())?;
                if lines.is_empty() {
                    return Ok(false);
                }
                let mut text = Vec::new();
                for line in lines {
                    text.extend_from_slice(&line);
                    text.push(b'\n');
                }
                write_found(Some(text), out)
            }
            Backend::Http(remote) => {
                let path = format!("/lists/{}", encode(name));
                fetch(remote, &path, SHORT, out)
            }
        }
    }

    /// Replaces the run record ID of SECTION.
    pub fn run_put(&self, section: &str, id: &str, record: &[u8]) -> Result<()> {
        match self {
            Backend::Off => Ok(()),
            Backend::Local(store) => {
                let section = checked(section, "run section")?;
                entries::run_put(store.as_ref(), &section, id, record, None)
            }
            Backend::Http(remote) => {
                let path = format!("/runs/{}/{}", encode(section), encode(id));
                let headers = [("Content-Type", "application/json")];
                let answer = call(
                    remote,
                    Method::PUT,
                    &path,
                    Body::Bytes(record.to_vec()),
                    &headers,
                    SHORT,
                )?;
                match answer.status {
                    200..=299 => Ok(()),
                    s => Err(refused(&format!("run_put {section}/{id}"), s)),
                }
            }
        }
    }

    /// The run record ID of SECTION into `out`; `Ok(false)` when there is none.
    pub fn run_get(&self, section: &str, id: &str, out: &mut dyn Write) -> Result<bool> {
        match self {
            Backend::Off => Err(Self::off()),
            Backend::Local(store) => {
                let Some(section) = entries::valid_name(section) else {
                    return Ok(false);
                };
                write_found(
                    entries::run_get(store.as_ref(), &section, id, now_secs())?,
                    out,
                )
            }
            Backend::Http(remote) => {
                let path = format!("/runs/{}/{}", encode(section), encode(id));
                fetch(remote, &path, SHORT, out)
            }
        }
    }

    /// Uploads FILE as artifact NAME; an existing one is kept unless `replace`.
    pub fn artifact_put(&self, name: &str, file: &Path, replace: bool) -> Result<()> {
        std::fs::metadata(file)
            .map_err(|e| Error::io(file, format!("cannot read {}: {e}", file.display())))?;
        match self {
            Backend::Off => Err(Self::off()),
            Backend::Local(store) => {
                crate::store::check_name(name)?;
                store.put_file(name, file, !replace).map(drop)
            }
            Backend::Http(remote) => {
                let path = format!("/artifacts/{}?ttl={ARTIFACT_TTL}", encode(name));
                let overwrite = [("X-CI3-Overwrite", "1")];
                let headers: &[(&'static str, &str)] = if replace { &overwrite } else { &[] };
                let body = Body::File(file.to_path_buf());
                let answer = call(remote, Method::PUT, &path, body, headers, ARTIFACT_WAIT)?;
                match answer.status {
                    0..=299 => Ok(()),
                    s => Err(refused(&format!("artifact_put {name}"), s)),
                }
            }
        }
    }

    /// Artifact NAME into `out`; `Ok(false)` when there is none.
    pub fn artifact_get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        match self {
            Backend::Off => Err(Self::off()),
            Backend::Local(store) => {
                if crate::store::check_name(name).is_err() {
                    return Ok(false);
                }
                store.get(name, out)
            }
            Backend::Http(remote) => {
                let path = format!("/artifacts/{}", encode(name));
                fetch(remote, &path, ARTIFACT_WAIT, out)
            }
        }
    }

    /// Whether artifact NAME exists.
    pub fn artifact_exists(&self, name: &str) -> Result<bool> {
        match self {
            Backend::Off => Err(Self::off()),
            Backend::Local(store) => match crate::store::check_name(name) {
                Ok(()) => store.exists(name),
                Err(_) => Ok(false),
            },
            Backend::Http(remote) => {
                let path = format!("/artifacts/{}", encode(name));
                Ok(call(remote, Method::HEAD, &path, Body::Empty, &[], SHORT)?.status == 200)
            }
        }
    }
}

/// Writes what was found; whether there was anything.
fn write_found(found: Option<Vec<u8>>, out: &mut dyn Write) -> Result<bool> {
    match found {
        Some(bytes) => {
            out.write_all(&bytes)?;
            Ok(true)
        }
        None => Ok(false),
    }
}
