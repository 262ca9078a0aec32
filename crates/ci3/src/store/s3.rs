//! The S3 store: AWS S3, MinIO or any server speaking the S3 API.
//!
//! rust-s3 is async; each store owns a single-threaded tokio runtime so the tools stay plain
//! blocking programs. Requests that fail for transient reasons (connection, timeout, 5xx, 429)
//! are retried a bounded number of times with backoff; an upload streams the file in 8 MiB
//! parts, so memory stays bounded whatever the artifact size.

use std::future::Future;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{anyhow, Result};
use futures_util::StreamExt;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use super::config::S3Settings;
use super::{backoff, check_name, timeout, Failure, Put, Store, StoreError, StoreResult, ATTEMPTS};

/// Concurrent 8 MiB parts per multipart upload: bounds memory to under 100 MiB.
const PARTS_IN_FLIGHT: usize = 8;
/// Large objects are downloaded as ranges of this size, several at once (as the aws CLI does):
/// one HTTP stream is far from what a store serves.
const RANGE: u64 = 8 << 20;
/// Multipart part size (S3 wants at least 5 MiB for all but the last).
const PART: usize = 8 << 20;
const RANGES_IN_FLIGHT: usize = 6;

pub struct S3Store {
    /// Short requests (HEAD, small objects, DELETE): a short timeout.
    meta: Box<Bucket>,
    /// Transfers of artifacts: a timeout that only stops a stuck transfer.
    bulk: Box<Bucket>,
    prefix: String,
    url: String,
    has_credentials: bool,
    runtime: tokio::runtime::Runtime,
}

impl S3Store {
    /// A store with the credentials of the environment (see `credentials`).
    pub fn new(s: S3Settings) -> Result<Self> {
        let (credentials, has_credentials) = credentials()?;
        Self::with_credentials(s, credentials, has_credentials)
    }

    /// A store with explicit keys.
    pub fn with_keys(s: S3Settings, access_key: &str, secret_key: &str) -> Result<Self> {
        let credentials = Credentials::new(Some(access_key), Some(secret_key), None, None, None)?;
        Self::with_credentials(s, credentials, true)
    }

    fn with_credentials(
        s: S3Settings,
        credentials: Credentials,
        has_credentials: bool,
    ) -> Result<Self> {
        let region = match &s.endpoint {
            Some(endpoint) => Region::Custom {
                region: s.region.clone(),
                endpoint: endpoint.trim_end_matches('/').to_string(),
            },
            None => s
                .region
                .parse()
                .map_err(|e| anyhow!("invalid AWS region '{}': {e}", s.region))?,
        };
        let mut bucket = Bucket::new(&s.bucket, region, credentials)
            .map_err(|e| anyhow!("S3 bucket {}: {e}", s.bucket))?;
        if s.endpoint.is_some() {
            // Custom endpoints (MinIO, s3s, Garage...) are addressed path-style.
            bucket = bucket.with_path_style();
        }
        let meta = bucket.with_request_timeout(timeout("CI3_S3_TIMEOUT", 30))?;
        let bulk = bucket.with_request_timeout(timeout("CI3_S3_TRANSFER_TIMEOUT", 3600))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let url = match &s.endpoint {
            Some(endpoint) => format!("s3://{}/{} at {endpoint}", s.bucket, s.prefix),
            None => format!("s3://{}/{}", s.bucket, s.prefix),
        };
        Ok(S3Store {
            meta,
            bulk,
            prefix: s.prefix,
            url,
            has_credentials,
            runtime,
        })
    }

    fn key(&self, name: &str) -> StoreResult<String> {
        check_name(name)?;
        Ok(format!("{}{name}", self.prefix))
    }

    /// Runs `op` until it succeeds, fails for good, or runs out of attempts.
    fn run<T, F, Fut>(&self, mut op: F) -> Result<T, S3Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, S3Error>>,
    {
        let mut attempt = 1;
        loop {
            match self.runtime.block_on(op()) {
                Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn fail(&self, what: &str, key: &str, e: S3Error) -> StoreError {
        let failure = match &e {
            S3Error::HttpFailWithBody(401 | 403, _) | S3Error::Credentials(_) => Failure::Denied,
            e if is_transient(e) => Failure::Unreachable,
            _ => Failure::Other,
        };
        let detail = match &e {
            S3Error::HttpFailWithBody(status, body) => match xml_code(body) {
                Some(code) => format!("HTTP {status} {code}"),
                None => format!("HTTP {status}"),
            },
            other => other.to_string(),
        };
        let hint = if failure == Failure::Denied && !self.has_credentials {
            " (no AWS credentials found)"
        } else {
            ""
        };
        StoreError::new(
            failure,
            format!("{what} s3://{}/{key}: {detail}{hint}", self.meta.name()),
        )
    }

    fn put_with(
        &self,
        key: &str,
        create_only: bool,
        upload: impl Fn() -> Result<(), S3Error>,
    ) -> StoreResult<Put> {
        let mut attempt = 1;
        loop {
            match upload() {
                Ok(()) => return Ok(Put::Created),
                Err(S3Error::HttpFailWithBody(412, _)) if create_only => {
                    return Ok(Put::AlreadyExists)
                }
                Err(e) if create_only && is_transient(&e) => {
                    // A server refusing a create-only write may close the connection before
                    // reading the body: then only a HEAD tells whether someone else won.
                    if self.head(key)? {
                        return Ok(Put::AlreadyExists);
                    }
                    if attempt >= ATTEMPTS {
                        return Err(self.fail("upload", key, e));
                    }
                }
                Err(e) if attempt < ATTEMPTS && is_transient(&e) => {}
                Err(e) => return Err(self.fail("upload", key, e)),
            }
            std::thread::sleep(backoff(attempt));
            attempt += 1;
        }
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
                    .bulk
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
            .block_on(self.bulk.initiate_multipart_upload(key, TYPE))?
            .upload_id;
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
                let (bucket, key, id) = (self.bulk.clone(), key.to_string(), upload_id.clone());
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
            let mut finish = self.bulk.clone();
            if create_only {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::IF_NONE_MATCH,
                    http::HeaderValue::from_static("*"),
                );
                *finish = self.bulk.with_extra_headers(headers)?;
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

    fn head(&self, key: &str) -> StoreResult<bool> {
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

    fn exists(&self, name: &str) -> StoreResult<bool> {
        self.head(&self.key(name)?)
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> StoreResult<bool> {
        let key = self.key(name)?;
        let head = match self.run(|| self.meta.head_object(&key)) {
            Ok((head, _)) => head,
            Err(S3Error::HttpFailWithBody(404, _)) => return Ok(false),
            Err(e) => return Err(self.fail("download", &key, e)),
        };
        let write_err = |e: std::io::Error| {
            StoreError::new(
                Failure::Other,
                format!("cannot write download of {key}: {e}"),
            )
        };
        match head.content_length.and_then(|l| u64::try_from(l).ok()) {
            Some(len) if len > 2 * RANGE => {
                // Every range must come from the object the HEAD saw: a concurrent overwrite
                // makes the download fail (412) instead of splicing two versions.
                let mut headers = http::HeaderMap::new();
                if let Some(etag) = head.e_tag.as_deref().and_then(|t| t.parse().ok()) {
                    headers.insert(http::header::IF_MATCH, etag);
                }
                let pinned = self
                    .bulk
                    .with_extra_headers(headers)
                    .map_err(|e| self.fail("download", &key, e))?;
                self.runtime.block_on(async {
                    let ranges = (0..len)
                        .step_by(RANGE as usize)
                        .map(|start| (start, (start + RANGE).min(len) - 1));
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
            _ => {
                let mut stream = match self.run(|| self.bulk.get_object_stream(&key)) {
                    Ok(stream) => stream,
                    Err(S3Error::HttpFailWithBody(404, _)) => return Ok(false),
                    Err(e) => return Err(self.fail("download", &key, e)),
                };
                // Once bytes have reached `out` a retry would duplicate them: a broken transfer fails.
                self.runtime.block_on(async {
                    while let Some(chunk) = stream.bytes().next().await {
                        out.write_all(&chunk.map_err(|e| self.fail("download", &key, e))?)
                            .map_err(write_err)?;
                    }
                    Ok(true)
                })
            }
        }
    }

    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> StoreResult<Put> {
        let key = self.key(name)?;
        self.put_with(&key, create_only, || {
            let mut file = std::fs::File::open(src)?;
            self.upload(&key, &mut file, create_only)
        })
    }

    fn put_reader(&self, name: &str, reader: &mut dyn Read, create_only: bool) -> StoreResult<Put> {
        let key = self.key(name)?;
        // A stream cannot be replayed: one attempt, and the caller retries from its file.
        match self.upload(&key, reader, create_only) {
            Ok(()) => Ok(Put::Created),
            Err(S3Error::HttpFailWithBody(412, _)) if create_only => Ok(Put::AlreadyExists),
            Err(e) => Err(self.fail("upload", &key, e)),
        }
    }

    fn put_bytes(&self, name: &str, bytes: &[u8], create_only: bool) -> StoreResult<Put> {
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

    fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
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

    fn delete(&self, name: &str) -> StoreResult<bool> {
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
    let response = bucket.http_client().put(url).body(chunk).send().await?;
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
            Ok(data) => {
                return Err(S3Error::HttpFailWithBody(
                    data.status_code(),
                    "short range response".into(),
                ))
            }
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether the environment holds S3 credentials (keys, or a profile in the shared file).
pub(super) fn has_credentials() -> bool {
    credentials().is_ok_and(|(_, found)| found)
}

/// Credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the
/// shared credentials file (profile `AWS_PROFILE`), else anonymous. Never the instance metadata
/// service: a build machine must not make surprise network calls.
fn credentials() -> Result<(Credentials, bool)> {
    use crate::env::non_empty;
    if let (Some(key), Some(secret)) = (
        non_empty("AWS_ACCESS_KEY_ID"),
        non_empty("AWS_SECRET_ACCESS_KEY"),
    ) {
        let token = non_empty("AWS_SESSION_TOKEN");
        let c = Credentials::new(Some(&key), Some(&secret), None, token.as_deref(), None)?;
        return Ok((c, true));
    }
    if let Ok(c) = Credentials::from_profile(non_empty("AWS_PROFILE").as_deref()) {
        if c.access_key.is_some() {
            return Ok((c, true));
        }
    }
    Ok((Credentials::anonymous()?, false))
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
