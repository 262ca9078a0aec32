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

use super::config::{S3Keys, S3Settings};
use super::retry::{backoff, network_cause, retry, Attempt, ATTEMPTS};
use super::{check_name, Put, Store};
use crate::error::{Error, Kind, Result};
use crate::report::Reporter;

/// Concurrent 8 MiB parts per multipart upload: bounds memory to under 100 MiB.
const PARTS_IN_FLIGHT: usize = 8;
/// Large objects are downloaded as ranges of this size, several at once (as the aws CLI does):
/// one HTTP stream is far from what a store serves.
const RANGE: u64 = 8 << 20;
/// Multipart part size (S3 wants at least 5 MiB for all but the last).
const PART: usize = 8 << 20;
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

    /// Aborts the multipart uploads that processes of this machine began and did not live to
    /// finish (a SIGKILL gives no chance to abort): their parts would be kept and billed forever.
    fn abort_orphaned_uploads(&self) {
        let Some(dir) = &self.journal else { return };
        crate::scratch::sweep(dir, &["multipart"], &|record| {
            let text = std::fs::read_to_string(record)?;
            let mut lines = text.lines();
            let (Some(url), Some(key), Some(id)) = (lines.next(), lines.next(), lines.next())
            else {
                return Ok(());
            };
            if url != self.url {
                // Another store's: left for a tool that talks to that one, unless that store has
                // not been used from here for a week.
                let age = std::fs::metadata(record)?
                    .modified()?
                    .elapsed()
                    .unwrap_or_default();
                return match age > std::time::Duration::from_secs(7 * 86400) {
                    true => Ok(()),
                    false => Err(std::io::Error::other("another store")),
                };
            }
            match self.runtime.block_on(self.meta.abort_upload(key, id)) {
                Ok(()) | Err(S3Error::HttpFailWithBody(404, _)) => Ok(()),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            }
        });
    }

    /// Records an upload begun, until `Drop` of what this returns.
    fn record_upload(&self, key: &str, id: &str) -> Option<tempfile::NamedTempFile> {
        let dir = self.journal.as_ref()?;
        std::fs::create_dir_all(dir).ok()?;
        let mut record = crate::scratch::file_in(dir, "multipart").ok()?;
        std::io::Write::write_all(
            record.as_file_mut(),
            format!("{}\n{key}\n{id}\n", self.url).as_bytes(),
        )
        .ok()?;
        Some(record)
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

    /// Uploads what `reader` yields: one PUT when it is under a part, else a multipart upload
    /// with each part uploaded in a task of its own, `PARTS_IN_FLIGHT` at a time. Nothing
    /// becomes visible unless every byte arrived (a failed multipart upload is aborted).
    fn upload(&self, key: &str, reader: &mut dyn Read, create_only: bool) -> Result<(), S3Error> {
        const TYPE: &str = "application/octet-stream";
        let first = read_part(reader)?;
        if first.len() < PART {
            return self.runtime.block_on(async {
                let mut request = self
                    .part
                    .put_object_builder(key, &first)
                    .with_content_type(TYPE);
                if create_only {
                    request = request.with_header("if-none-match", "*")?;
                }
                request.execute().await.map(drop)
            });
        }
        let upload_id = self
            .runtime
            .block_on(self.meta.initiate_multipart_upload(key, TYPE))?
            .upload_id;
        let _record = self.record_upload(key, &upload_id);
        let result = (|| {
            let mut in_flight: std::collections::VecDeque<
                tokio::task::JoinHandle<Result<s3::serde_types::Part, S3Error>>,
            > = std::collections::VecDeque::new();
            let mut parts = Vec::new();
            let mut chunk = first;
            for number in 1.. {
                if in_flight.len() >= PARTS_IN_FLIGHT {
                    parts.push(
                        self.runtime
                            .block_on(in_flight.pop_front().expect("in flight"))
                            .map_err(join_error)??,
                    );
                }
                let (bucket, key, id) = (self.part.clone(), key.to_string(), upload_id.clone());
                in_flight.push_back(
                    self.runtime
                        .spawn(async move { put_part(&bucket, &key, &id, number, chunk).await }),
                );
                chunk = read_part(reader)?;
                if chunk.is_empty() {
                    break;
                }
            }
            for handle in in_flight {
                parts.push(self.runtime.block_on(handle).map_err(join_error)??);
            }
            let mut finish = self.part.clone();
            if create_only {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::IF_NONE_MATCH,
                    http::HeaderValue::from_static("*"),
                );
                *finish = self.part.with_extra_headers(headers)?;
            }
            self.runtime
                .block_on(finish.complete_multipart_upload(key, &upload_id, parts))
                .map(drop)
        })();
        if result.is_err() {
            let _ = self
                .runtime
                .block_on(self.meta.abort_upload(key, &upload_id));
        }
        result
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
            Err(S3Error::HttpFailWithBody(416, _)) => return Ok(true),
            Err(e) => return Err(self.fail("download", &key, e)),
        };
        let headers = first.headers();
        let got = first.bytes().len() as u64;
        out.write_all(first.bytes()).map_err(write_err)?;
        // `bytes 0-END/TOTAL` on a partial answer; a server that ignored the range sent it all.
        let total = headers
            .get("content-range")
            .and_then(|r| r.rsplit('/').next())
            .and_then(|t| t.parse::<u64>().ok());
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
        self.runtime.block_on(async {
            let ranges = (got..total)
                .step_by(RANGE as usize)
                .map(|start| (start, (start + RANGE).min(total) - 1));
            let mut parts = futures_util::stream::iter(ranges)
                .map(|(start, end)| fetch_range(&pinned, &key, start, end))
                .buffered(RANGES_IN_FLIGHT);
            while let Some(part) = parts.next().await {
                out.write_all(&part.map_err(|e| self.fail("download", &key, e))?)
                    .map_err(write_err)?;
            }
            Ok(true)
        })
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
        let key = format!("{}{prefix}", self.prefix);
        let pages = self
            .run(|| self.meta.list(key.clone(), None))
            .map_err(|e| self.fail("list", &key, e))?;
        // RFC 3339 times in one format sort as text.
        let mut found: Vec<(String, String)> = pages
            .into_iter()
            .flat_map(|page| page.contents)
            .filter_map(|o| {
                Some((
                    o.last_modified,
                    o.key.strip_prefix(&self.prefix)?.to_string(),
                ))
            })
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, name)| name).collect())
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

/// Uploads one part through a presigned URL: the payload is not hashed by the client (rust-s3
/// would compute both an MD5 and a SHA-256 of it) nor checked again by the server. The artifact's
/// own BLAKE3 trailer is what proves its bytes, end to end.
async fn put_part(
    bucket: &Bucket,
    key: &str,
    upload_id: &str,
    number: u32,
    chunk: Vec<u8>,
) -> Result<s3::serde_types::Part, S3Error> {
    let query = std::collections::HashMap::from([
        ("partNumber".to_string(), number.to_string()),
        ("uploadId".to_string(), upload_id.to_string()),
    ]);
    let url = bucket.presign_put(key, 3600, None, Some(query)).await?;
    let mut request = bucket.http_client().put(url).body(chunk);
    if let Some(deadline) = bucket.request_timeout() {
        request = request.timeout(deadline);
    }
    // Without the URL: a presigned one carries a credential and a signature.
    let response = request.send().await.map_err(|e| e.without_url())?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Err(S3Error::HttpFailWithBody(
            status,
            response.text().await.unwrap_or_default(),
        ));
    }
    let etag = response
        .headers()
        .get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let etag = etag
        .ok_or_else(|| S3Error::HttpFailWithBody(status, "no ETag for an uploaded part".into()))?;
    Ok(s3::serde_types::Part {
        part_number: number,
        etag,
    })
}

/// Up to one part's worth of bytes; fewer only at the end of the stream.
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

fn read_part(reader: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(PART);
    reader.take(PART as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

fn join_error(e: tokio::task::JoinError) -> S3Error {
    S3Error::Io(std::io::Error::other(format!("upload task failed: {e}")))
}

/// Bytes `start..=end` of `key`, retried on transient failures.
async fn fetch_range(
    bucket: &Bucket,
    key: &str,
    start: u64,
    end: u64,
) -> Result<bytes::Bytes, S3Error> {
    let mut attempt = 1;
    loop {
        match bucket.get_object_range(key, start, Some(end)).await {
            Ok(data) if data.bytes().len() as u64 == end - start + 1 => {
                return Ok(data.bytes().clone())
            }
            Ok(_) => return Err(S3Error::HttpFailWithBody(412, SHORT_RANGE.into())),
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
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
            let meaning = super::retry::http_meaning(*status);
            match xml_code(body) {
                Some(code) => format!("HTTP {status} {code} ({meaning})"),
                None => format!("HTTP {status} ({meaning})"),
            }
        }
        S3Error::Reqwest(e) => network_cause(e),
        S3Error::Io(e) => network_cause(e),
        other => super::retry::redact(&other.to_string()),
    }
}

/// What `fetch_range` says of a range answered short: the object was replaced mid-download.
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
