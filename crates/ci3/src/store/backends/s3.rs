//! The S3 store: AWS S3, MinIO or any server speaking the S3 API.
//!
//! rust-s3 is async; each store owns a single-threaded tokio runtime so the tools stay plain
//! blocking programs. Requests that fail for transient reasons (connection, timeout, 5xx, 429)
//! are retried a bounded number of times with backoff; an upload streams the file in 8 MiB
//! parts, so memory stays bounded whatever the artifact size.

use std::future::Future;
use std::io::{Read, Write};
use std::path::Path;

use std::sync::Arc;

use futures_util::StreamExt;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use super::retry::{retry, Attempt};
use crate::error::{Error, Kind, Result};
use crate::remote::words::{http_meaning, network_cause, redact};
use crate::report::Reporter;
use crate::store::config::{S3Keys, S3Settings};
use crate::store::{check_name, Parted, Put, Store};

mod multipart;
mod parted;
mod ranges;

/// Large objects are downloaded as ranges of this size, several at once.
const RANGE: u64 = 8 << 20;
/// Ranges of one download fetched at once, as the aws CLI does: one HTTP stream is far from
/// what a store serves (the local S3 server of `bench/server.sh` gave a third of its speed with
/// three, and a server over it was held to that).
const RANGES_IN_FLIGHT: usize = 6;

pub struct S3Store {
    /// Short requests (HEAD, small objects, DELETE): the idle timeout bounds each.
    meta: Box<Bucket>,
    /// One 8 MiB part or range: bounded like a short request, so a stalled one fails however
    /// large the artifact.
    part: Box<Bucket>,
    /// Where in-flight multipart uploads are recorded, so one a killed process left is aborted by
    /// the next upload from this machine.
    journal: Option<std::path::PathBuf>,
    prefix: String,
    url: String,
    has_credentials: bool,
    runtime: tokio::runtime::Runtime,
    reporter: Arc<dyn Reporter>,
}

impl S3Store {
    /// A store with the keys of `s`, else those of the shared credentials file, else anonymous.
    /// `reporter` hears the retry notices.
    pub fn new(s: S3Settings, reporter: Arc<dyn Reporter>) -> Result<Self> {
        let (credentials, has_credentials) = credentials(&s)?;
        // Ours are the only retries: the client's own would multiply them.
        s3::set_retries(0);
        let config =
            |e: &dyn std::fmt::Display| Error::config(format!("S3 bucket {}: {e}", s.bucket));
        let region = match &s.endpoint {
            Some(endpoint) => Region::Custom {
                region: s.region.clone(),
                endpoint: endpoint.trim_end_matches('/').to_string(),
            },
            None => s
                .region
                .parse()
                .map_err(|e| Error::config(format!("invalid AWS region '{}': {e}", s.region)))?,
        };
        let mut bucket = Bucket::new(&s.bucket, region, credentials).map_err(|e| config(&e))?;
        if s.endpoint.is_some() {
            // Custom endpoints (MinIO, s3s, Garage...) are addressed path-style.
            bucket = bucket.with_path_style();
        }
        let meta = bucket
            .with_request_timeout(s.request_timeout)
            .map_err(|e| config(&e))?;
        let part = bucket
            .with_request_timeout(s.request_timeout)
            .map_err(|e| config(&e))?;
        let url = match &s.endpoint {
            Some(endpoint) => format!("s3://{}/{} at {endpoint}", s.bucket, s.prefix),
            None => format!("s3://{}/{}", s.bucket, s.prefix),
        };
        let store = S3Store {
            meta,
            part,
            journal: s.journal,
            prefix: s.prefix,
            url,
            has_credentials,
            runtime: super::runtime()?,
            reporter,
        };
        store.abort_orphaned_uploads();
        Ok(store)
    }

    /// Whether `s` or the shared credentials file give keys.
    pub fn has_credentials(s: &S3Settings) -> bool {
        credentials(s).is_ok_and(|(_, found)| found)
    }

    fn key(&self, name: &str) -> Result<String> {
        check_name(name)?;
        Ok(format!("{}{name}", self.prefix))
    }

    /// Runs `op` until it succeeds, fails for good, or runs out of attempts.
    fn run<T, F, Fut>(&self, mut op: F) -> Result<T, S3Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, S3Error>>,
    {
        retry(&|line| self.reporter.note(line), || {
            match self.runtime.block_on(op()) {
                Err(e) if is_timeout(&e) => Attempt::Done(Err(e)),
                Err(e) if is_transient(&e) => {
                    let cause = format!("{}: {}", self.url, detail(&e));
                    Attempt::Transient(e, cause)
                }
                result => Attempt::Done(result),
            }
        })
    }

    /// Every object under `prefix`: its name and S3's last-modified time as listed.
    fn listed(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let key = format!("{}{prefix}", self.prefix);
        let pages = self
            .run(|| self.meta.list(key.clone(), None))
            .map_err(|e| self.fail("list", &key, e))?;
        Ok(pages
            .into_iter()
            .flat_map(|page| page.contents)
            .filter_map(|o| {
                Some((
                    o.key.strip_prefix(&self.prefix)?.to_string(),
                    o.last_modified,
                ))
            })
            .collect())
    }

    fn fail(&self, what: &str, key: &str, e: S3Error) -> Error {
        let kind = match &e {
            S3Error::HttpFailWithBody(401 | 403, _) | S3Error::Credentials(_) => Kind::Denied,
            // A server that answers is reachable: its errors are the store's, named by class.
            S3Error::HttpFailWithBody(..) => Kind::Store,
            e if is_timeout(e) => Kind::TimedOut,
            e if is_transient(e) => Kind::Unreachable,
            _ => Kind::Store,
        };
        let hint = if kind == Kind::Denied && !self.has_credentials {
            " (no AWS credentials found)"
        } else {
            ""
        };
        Error::new(
            kind,
            format!(
                "{what} s3://{}/{key} at {}: {}{hint}",
                self.meta.name(),
                self.endpoint(),
                detail(&e)
            ),
        )
    }

    /// Where requests go, for messages.
    fn endpoint(&self) -> String {
        self.meta.url()
    }

    fn put_with(
        &self,
        key: &str,
        create_only: bool,
        upload: impl Fn() -> Result<(), S3Error>,
    ) -> Result<Put> {
        let mut last = None;
        let put = retry(&|line| self.reporter.note(line), || match upload() {
            Ok(()) => Attempt::Done(Ok(Put::Created)),
            Err(S3Error::HttpFailWithBody(412, _)) if create_only => {
                Attempt::Done(Ok(Put::AlreadyExists))
            }
            Err(e) if is_timeout(&e) => Attempt::Done(Err(Some(self.fail("upload", key, e)))),
            Err(e) if is_transient(&e) => {
                // A server refusing a create-only write may close the connection before
                // reading the body: then only a HEAD tells whether someone else won.
                if create_only {
                    match self.head(key) {
                        Ok(true) => return Attempt::Done(Ok(Put::AlreadyExists)),
                        Ok(false) => {}
                        Err(err) => return Attempt::Done(Err(Some(err))),
                    }
                }
                let cause = format!("upload to {}: {}", self.url, detail(&e));
                last = Some(e);
                Attempt::Transient(None, cause)
            }
            Err(e) => Attempt::Done(Err(Some(self.fail("upload", key, e)))),
        });
        put.map_err(|e: Option<Error>| match (e, last.take()) {
            (Some(e), _) => e,
            (None, Some(s3)) => self.fail("upload", key, s3),
            (None, None) => Error::new(Kind::Unreachable, format!("upload {key}: failed")),
        })
    }

    fn head(&self, key: &str) -> Result<bool> {
        match self.run(|| self.meta.head_object(key)) {
            Ok(_) => Ok(true),
            Err(S3Error::HttpFailWithBody(404, _)) => Ok(false),
            Err(e) => Err(self.fail("check", key, e)),
        }
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn can_write(&self) -> bool {
        self.has_credentials
    }

    fn exists(&self, name: &str) -> Result<bool> {
        self.head(&self.key(name)?)
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        self.get_sized(name, &mut |_| {}, out)
    }

    fn size(&self, name: &str) -> Result<Option<u64>> {
        let key = self.key(name)?;
        match self.run(|| self.meta.head_object(&key)) {
            Ok((head, _)) => Ok(Some(head.content_length.unwrap_or(0).max(0) as u64)),
            Err(S3Error::HttpFailWithBody(404, _)) => Ok(None),
            Err(e) => Err(self.fail("check", &key, e)),
        }
    }

    /// The length comes with the first range, whose version pins the others.
    fn get_sized(
        &self,
        name: &str,
        sized: &mut dyn FnMut(u64),
        out: &mut dyn Write,
    ) -> Result<bool> {
        let key = self.key(name)?;
        let write_err = |e: std::io::Error| {
            Error::new(
                Kind::Io,
                format!("cannot pass on the download of {key}: {e}"),
            )
        };
        // One request answers a small object whole, and a large one's first range with its size
        // and version: no HEAD before every download (the test cache looks up thousands).
        let first = match self.run(|| self.part.get_object_range(&key, 0, Some(RANGE - 1))) {
            Ok(first) => first,
            Err(S3Error::HttpFailWithBody(404, _)) => return Ok(false),
            // An empty object has no first byte to send.
            Err(S3Error::HttpFailWithBody(416, _)) => {
                sized(0);
                return Ok(true);
            }
            Err(e) => return Err(self.fail("download", &key, e)),
        };
        let headers = first.headers();
        let got = first.bytes().len() as u64;
        // `bytes 0-END/TOTAL` on a partial answer; a server that ignored the range sent it all.
        let total = headers
            .get("content-range")
            .and_then(|r| r.rsplit('/').next())
            .and_then(|t| t.parse::<u64>().ok());
        sized(total.unwrap_or(got).max(got));
        out.write_all(first.bytes()).map_err(write_err)?;
        let Some(total) = total.filter(|&total| total > got) else {
            return Ok(true);
        };
        // Every other range must come from the object the first one came from: a concurrent
        // overwrite makes the download fail (412) instead of splicing two versions.
        let mut pin = http::HeaderMap::new();
        if let Some(etag) = headers.get("etag").and_then(|t| t.parse().ok()) {
            pin.insert(http::header::IF_MATCH, etag);
        }
        let pinned = self
            .part
            .with_extra_headers(pin)
            .map_err(|e| self.fail("download", &key, e))?;
        let ranges = (got..total)
            .step_by(RANGE as usize)
            .map(|start| (start, (start + RANGE).min(total) - 1));
        let mut parts = futures_util::stream::iter(ranges)
            .map(|(start, end)| ranges::fetch(&pinned, &key, start, end))
            .buffered(RANGES_IN_FLIGHT);
        // Each part is written outside the runtime: `out` may block the way a runtime's thread
        // must not (the server's streamer hands parts to its own runtime with blocking_send).
        while let Some(part) = self.runtime.block_on(parts.next()) {
            out.write_all(&part.map_err(|e| self.fail("download", &key, e))?)
                .map_err(write_err)?;
        }
        Ok(true)
    }

    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> Result<Put> {
        let key = self.key(name)?;
        self.put_with(&key, create_only, || {
            let mut file = std::fs::File::open(src)?;
            self.upload(&key, &mut file, create_only)
        })
    }

    fn put_reader(&self, name: &str, reader: &mut dyn Read, create_only: bool) -> Result<Put> {
        let key = self.key(name)?;
        let mut source = Source {
            inner: reader,
            failed: None,
        };
        // A stream cannot be replayed: one attempt, and the caller retries from its file.
        match self.upload(&key, &mut source, create_only) {
            Ok(()) => Ok(Put::Created),
            Err(S3Error::HttpFailWithBody(412, _)) if create_only => Ok(Put::AlreadyExists),
            // The stream's own failure is not the store's: never an outage.
            Err(_) if source.failed.is_some() => Err(Error::new(
                Kind::Io,
                format!(
                    "upload of {key} stopped: {}",
                    source.failed.unwrap_or_default()
                ),
            )),
            Err(e) => Err(self.fail("upload", &key, e)),
        }
    }

    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> Result<Put> {
        let key = self.key(name)?;
        self.put_with(&key, create_only, || {
            self.runtime.block_on(async {
                let mut request = self
                    .meta
                    .put_object_builder(&key, bytes)
                    .with_content_type("application/octet-stream");
                if create_only {
                    request = request.with_header("if-none-match", "*")?;
                }
                request.execute().await.map(drop)
            })
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        // RFC 3339 times in one format sort as text.
        let mut found: Vec<(String, String)> = self
            .listed(prefix)?
            .into_iter()
            .map(|(name, modified)| (modified, name))
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, name)| name).collect())
    }

    fn list_modified(&self, prefix: &str) -> Result<Option<Vec<(String, u64)>>> {
        let listed = self.listed(prefix)?;
        let mut found = Vec::with_capacity(listed.len());
        for (name, modified) in listed {
            // S3 says `2026-12-02T23:25:20.000Z`; the fraction does not matter to an age.
            let whole = modified.split('.').next().unwrap_or(&modified);
            let at = crate::clock::parse_date(whole).map_err(|_| {
                crate::err!(
                    Failed,
                    "{}: listed {name} with a time that is not one: {modified}",
                    self.describe()
                )
            })?;
            found.push((name, at / 1_000_000));
        }
        Ok(Some(found))
    }

    fn presigned_get(&self, name: &str, secs: u32) -> Result<Option<String>> {
        let key = self.key(name)?;
        let url = self
            .runtime
            .block_on(self.meta.presign_get(&key, secs, None))
            .map_err(|e| self.fail("presign", &key, e))?;
        Ok(Some(url))
    }

    /// Asks for pages of at most `max` keys, in S3's own key order, until `max` are found: a
    /// request lists what it returns, not the whole prefix.
    fn list_sorted(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Vec<String>> {
        let key = format!("{}{prefix}", self.prefix);
        let mut start = after.map(|a| format!("{}{a}", self.prefix));
        let mut token: Option<String> = None;
        let mut found = Vec::new();
        while found.len() < max {
            let want = (max - found.len()).min(1000);
            let (page, _) = self
                .run(|| {
                    self.meta
                        .list_page(key.clone(), None, token.clone(), start.clone(), Some(want))
                })
                .map_err(|e| self.fail("list", &key, e))?;
            found.extend(
                page.contents
                    .into_iter()
                    .filter_map(|o| Some(o.key.strip_prefix(&self.prefix)?.to_string())),
            );
            match page.next_continuation_token {
                Some(next) if page.is_truncated => {
                    token = Some(next);
                    start = None;
                }
                _ => break,
            }
        }
        found.truncate(max);
        Ok(found)
    }

    fn parted(&self) -> Option<&dyn Parted> {
        Some(self)
    }

    fn delete(&self, name: &str) -> Result<bool> {
        let key = self.key(name)?;
        // S3 answers 204 whether or not the object existed: ask first, for an honest answer.
        let existed = self.head(&key)?;
        match self.run(|| self.meta.delete_object(&key)) {
            Ok(_) => Ok(existed),
            Err(e) => Err(self.fail("delete", &key, e)),
        }
    }
}

/// What an upload reads, remembering whether reading failed.
struct Source<'a> {
    inner: &'a mut dyn Read,
    failed: Option<String>,
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.failed.get_or_insert_with(|| e.to_string());
        })
    }
}

/// Credentials from the settings' keys, else the shared credentials file (profile
/// `AWS_PROFILE`), else anonymous. Never the instance metadata service: a build machine must not
/// make surprise network calls.
fn credentials(s: &S3Settings) -> Result<(Credentials, bool)> {
    let bad = |e: &dyn std::fmt::Display| Error::config(format!("AWS credentials: {e}"));
    if let Some(S3Keys {
        access_key,
        secret_key,
        session_token,
    }) = &s.keys
    {
        let c = Credentials::new(
            Some(access_key),
            Some(secret_key),
            None,
            session_token.as_deref(),
            None,
        )
        .map_err(|e| bad(&e))?;
        return Ok((c, true));
    }
    if let Ok(c) = Credentials::from_profile(s.profile.as_deref()) {
        if c.access_key.is_some() {
            return Ok((c, true));
        }
    }
    Ok((Credentials::anonymous().map_err(|e| bad(&e))?, false))
}

/// What went wrong with a request, without the request itself (a presigned URL would carry a
/// credential and a signature into the message).
fn detail(e: &S3Error) -> String {
    match e {
        S3Error::HttpFailWithBody(_, body) if body == SHORT_RANGE => {
            "the object changed while it was being downloaded".into()
        }
        S3Error::HttpFailWithBody(status, body) => {
            let meaning = http_meaning(*status);
            match xml_code(body) {
                Some(code) => format!("HTTP {status} {code} ({meaning})"),
                None => format!("HTTP {status} ({meaning})"),
            }
        }
        S3Error::Reqwest(e) => network_cause(e),
        S3Error::Io(e) => network_cause(e),
        other => redact(&other.to_string()),
    }
}

/// What `ranges::fetch` says of a range answered short: the object was replaced mid-download.
const SHORT_RANGE: &str = "short range response";

fn is_timeout(e: &S3Error) -> bool {
    matches!(e, S3Error::Reqwest(r) if r.is_timeout())
}

fn is_transient(e: &S3Error) -> bool {
    match e {
        S3Error::HttpFailWithBody(status, _) => *status >= 500 || *status == 429,
        S3Error::Reqwest(_) | S3Error::Io(_) => true,
        _ => false,
    }
}

/// The `<Code>` of an S3 XML error body (`SignatureDoesNotMatch`, `AccessDenied`...).
fn xml_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(&body[start..end])
}
