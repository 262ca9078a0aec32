//! A ci3 server as a store (`CI3_STORE=ci3+http(s)://`, `CI3_SERVER`). Full mode (our server,
//! `X-CI3-Features: objects`) maps the trait one-to-one onto `/objects/NAME`; API mode (any
//! other ci3 server) keeps artifacts and flags under `/artifacts/NAME`, drops manifests, and
//! refuses listing and deletion as a configuration error naming the missing capability.
//! Artifact misses fall back to `CI3_PUBLIC_CACHE_URL` when one is given. A stream goes to our
//! server in parts as it is read (`parted`), to another spooled first (it wants a length).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::public::PublicStore;
use crate::error::{Error, Kind, Result};
use crate::remote::{encode, encode_query, Body, Connection, Method, Mode, Request, Response};
use crate::report::Reporter;
use crate::store::names::{MANIFESTS, RESERVED};
use crate::store::{check_name, Put, Store};

mod parted;

/// The most names one listing request asks for (the server's cap).
const PAGE: usize = 10_000;

pub struct ServerStore {
    conn: Arc<Connection>,
    /// `CI3_PUBLIC_CACHE_URL`: where an artifact the server lacks is looked for next.
    public: Option<PublicStore>,
    reporter: Arc<dyn Reporter>,
}

impl ServerStore {
    pub fn new(
        conn: Arc<Connection>,
        public: Option<PublicStore>,
        reporter: Arc<dyn Reporter>,
    ) -> ServerStore {
        ServerStore {
            conn,
            public,
            reporter,
        }
    }

    pub fn connection(&self) -> &Arc<Connection> {
        &self.conn
    }

    /// The route holding object `name` in the server's mode. API mode has no place for our
    /// own objects under `.ci3/`: manifests are left out (`None`: they only explain a hash),
    /// anything else (task records) is refused as a configuration error naming `/objects`.
    fn path(&self, name: &str) -> Result<Option<String>> {
        check_name(name)?;
        Ok(match self.conn.mode()? {
            Mode::Full => Some(format!("/objects/{}", encode(name))),
            Mode::Api if name.starts_with(MANIFESTS) => None,
            Mode::Api if name.starts_with(RESERVED) => {
                return Err(self.lacks(&format!("object {name}")));
            }
            Mode::Api => Some(format!("/artifacts/{}", encode(name))),
        })
    }

    /// The refusal of an operation API mode cannot do: a configuration error, since only
    /// pointing the tools at a server that speaks `/objects` (or at another store) mends it.
    fn lacks(&self, what: &str) -> Error {
        Error::config(format!(
            "{}: {what} needs a ci3 server with /objects (X-CI3-Features: objects); this one \
             speaks only the upstream API",
            self.describe()
        ))
    }

    /// Whether a miss of `name` is worth asking the public cache about: artifacts and flags.
    fn public_for(&self, name: &str) -> Option<&PublicStore> {
        self.public.as_ref().filter(|_| !name.starts_with(RESERVED))
    }

    /// The public cache's answer, a failure of it being a miss (said to the reporter): the
    /// server, not the fallback, is what the breaker watches.
    fn ask_public(&self, name: &str, read: impl FnOnce(&PublicStore) -> Result<bool>) -> bool {
        let Some(public) = self.public_for(name) else {
            return false;
        };
        read(public).unwrap_or_else(|e| {
            self.reporter.note(&format!(
                "Public cache unavailable for {name}: {}",
                e.message()
            ));
            false
        })
    }

    fn head(&self, path: &str) -> Result<Option<u64>> {
        let response = self.conn.send(Request::new(Method::HEAD, path))?;
        match response.status() {
            200 => Ok(Some(response.length().unwrap_or(0))),
            404 => Ok(None),
            _ => Err(response.unexpected()),
        }
    }

    /// The GET of `path`, `None` on 404.
    fn fetch(&self, path: &str) -> Result<Option<Response<'_>>> {
        let response = self.conn.send(Request::get(path))?;
        match response.status() {
            200 => Ok(Some(response)),
            404 => Ok(None),
            _ => Err(response.unexpected()),
        }
    }

    /// PUTs `body` under `name`. Create-only asks first (an existing artifact costs no
    /// transfer), then sends `If-None-Match: *` for a racing writer: 412 is `AlreadyExists`.
    /// Otherwise `X-CI3-Overwrite: 1` asks the server to replace what is there.
    fn put(&self, name: &str, body: Body, create_only: bool) -> Result<Put> {
        let Some(path) = self.path(name)? else {
            // A manifest in API mode: nowhere to keep it, and the artifact is what counts.
            return Ok(Put::Created);
        };
        if create_only && self.head(&path)?.is_some() {
            return Ok(Put::AlreadyExists);
        }
        let request = Request::new(Method::PUT, path.as_str()).body(body);
        let request = match create_only {
            true => request
                .header("if-none-match", "*")
                .header("expect", "100-continue"),
            false => request.header("x-ci3-overwrite", "1"),
        };
        let response = match self.conn.send(request) {
            Ok(response) => response,
            // A server refusing a racing create-only write may close the connection before
            // taking the body: the object's presence says why.
            Err(e) if create_only && e.kind() == Kind::Unreachable => {
                return match self.head(&path) {
                    Ok(Some(_)) => Ok(Put::AlreadyExists),
                    _ => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        match response.status() {
            412 => Ok(Put::AlreadyExists),
            200..=299 if response.header("x-ci3-existed").is_some() => Ok(Put::AlreadyExists),
            200..=299 => Ok(Put::Created),
            _ => Err(response.unexpected()),
        }
    }

    /// Names from one listing request.
    fn listing(
        &self,
        prefix: &str,
        after: Option<&str>,
        max: usize,
        by_age: bool,
    ) -> Result<Vec<String>> {
        if self.conn.mode()? != Mode::Full {
            return Err(self.lacks("listing objects"));
        }
        let mut path = format!("/objects/?prefix={}&max={max}", encode_query(prefix));
        if let Some(after) = after {
            path.push_str(&format!("&after={}", encode_query(after)));
        }
        if by_age {
            path.push_str("&order=modified");
        }
        let response = self.conn.send(Request::get(path))?;
        if response.status() != 200 {
            return Err(response.unexpected());
        }
        Ok(response
            .text()?
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }
}

impl Store for ServerStore {
    fn describe(&self) -> String {
        format!("ci3 server {}", self.conn.base())
    }

    fn exists(&self, name: &str) -> Result<bool> {
        let Some(path) = self.path(name)? else {
            return Ok(false);
        };
        if self.head(&path)?.is_some() {
            return Ok(true);
        }
        Ok(self.ask_public(name, |p| p.exists(name)))
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        self.get_sized(name, &mut |_| {}, out)
    }

    fn size(&self, name: &str) -> Result<Option<u64>> {
        let Some(path) = self.path(name)? else {
            return Ok(None);
        };
        match self.head(&path)? {
            Some(len) => Ok(Some(len)),
            None => match self.public_for(name) {
                Some(public) => Ok(public.size(name).unwrap_or(None)),
                None => Ok(None),
            },
        }
    }

    fn get_sized(
        &self,
        name: &str,
        sized: &mut dyn FnMut(u64),
        out: &mut dyn Write,
    ) -> Result<bool> {
        let Some(path) = self.path(name)? else {
            return Ok(false);
        };
        match self.fetch(&path)? {
            Some(response) => {
                let Some(len) = response.length() else {
                    return Err(Error::new(
                        Kind::Store,
                        format!("{}: no Content-Length", response.what()),
                    ));
                };
                sized(len);
                response.copy_to(out)?;
                Ok(true)
            }
            None => Ok(self.ask_public(name, |p| p.get_sized(name, sized, out))),
        }
    }

    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> Result<Put> {
        self.put(name, Body::File(src.to_path_buf()), create_only)
    }

    fn put_reader(
        &self,
        name: &str,
        reader: &mut dyn std::io::Read,
        create_only: bool,
    ) -> Result<Put> {
        if self.conn.mode()? == Mode::Full {
            return self.put_parted(name, reader, create_only);
        }
        // The server needs Content-Length before the body: a stream is spooled first.
        let mut spool = tempfile::Builder::new()
            .prefix(&crate::scratch::prefix("upload"))
            .tempfile()
            .map_err(|e| Error::new(Kind::Io, format!("cannot spool {name}: {e}")))?;
        std::io::copy(reader, spool.as_file_mut())
            .map_err(|e| Error::new(Kind::Io, format!("cannot spool {name}: {e}")))?;
        self.put(name, Body::File(spool.path().to_path_buf()), create_only)
    }

    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> Result<Put> {
        self.put(name, Body::Bytes(bytes.to_vec()), create_only)
    }

    fn delete(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        if self.conn.mode()? != Mode::Full {
            return Err(self.lacks("deleting objects"));
        }
        let path = format!("/objects/{}", encode(name));
        let response = self.conn.send(Request::new(Method::DELETE, path))?;
        match response.status() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(response.unexpected()),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let oldest_first = self.listing(prefix, None, PAGE, true)?;
        if oldest_first.len() < PAGE {
            return Ok(oldest_first);
        }
        // Past one page the age order stops at the server's cap: the rest follow by name, so
        // nothing is left out.
        let mut seen: std::collections::HashSet<String> = oldest_first.iter().cloned().collect();
        let mut all = oldest_first;
        for name in self.list_sorted(prefix, None, usize::MAX)? {
            if seen.insert(name.clone()) {
                all.push(name);
            }
        }
        Ok(all)
    }

    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        let mut after = after.map(String::from);
        while names.len() < max {
            let want = (max - names.len()).min(PAGE);
            let page = self.listing(prefix, after.as_deref(), want, false)?;
            let done = page.len() < want;
            after = page.last().cloned();
            names.extend(page);
            if done || after.is_none() {
                break;
            }
        }
        Ok(names)
    }
}
