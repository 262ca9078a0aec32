//! The S3 store: AWS S3, MinIO or any server speaking the S3 API.
//!
//! rust-s3 is async; each store owns a single-threaded tokio runtime so the tools stay plain
//! blocking programs. Requests that fail for transient reasons (connection, timeout, 5xx, 429)
//! are retried a bounded number of times with backoff; an upload streams the file in 8 MiB
//! parts, so memory stays bounded whatever the artifact size.

use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Result};
use futures_util::StreamExt;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use super::config::S3Settings;
use super::{check_name, Failure, Put, Store, StoreError, StoreResult};

const ATTEMPTS: u32 = 3;
/// Concurrent 8 MiB parts per multipart upload: bounds memory to a few tens of MiB.
const PARTS_IN_FLIGHT: usize = 4;

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
        let seconds = |var: &str, default: u64| {
            crate::env::non_empty(var)
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let meta =
            bucket.with_request_timeout(Duration::from_secs(seconds("CI3_S3_TIMEOUT", 30)))?;
        let bulk = bucket.with_request_timeout(Duration::from_secs(seconds(
            "CI3_S3_TRANSFER_TIMEOUT",
            3600,
        )))?;
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
                    std::thread::sleep(Duration::from_millis(150 * 4u64.pow(attempt - 1)));
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
            std::thread::sleep(Duration::from_millis(150 * 4u64.pow(attempt - 1)));
            attempt += 1;
        }
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
        let mut stream = match self.run(|| self.bulk.get_object_stream(&key)) {
            Ok(stream) => stream,
            Err(S3Error::HttpFailWithBody(404, _)) => return Ok(false),
            Err(e) => return Err(self.fail("download", &key, e)),
        };
        // Once bytes have reached `out` a retry would duplicate them: a broken transfer fails.
        self.runtime.block_on(async {
            while let Some(chunk) = stream.bytes().next().await {
                let chunk = chunk.map_err(|e| self.fail("download", &key, e))?;
                out.write_all(&chunk).map_err(|e| {
                    StoreError::new(
                        Failure::Other,
                        format!("cannot write download of {key}: {e}"),
                    )
                })?;
            }
            Ok(true)
        })
    }

    fn put_file(&self, name: &str, src: &Path, create_only: bool) -> StoreResult<Put> {
        let key = self.key(name)?;
        self.put_with(&key, create_only, || {
            self.runtime.block_on(async {
                let mut file = tokio::fs::File::open(src).await?;
                let mut request = self
                    .bulk
                    .put_object_stream_builder(&key)
                    .with_content_type("application/octet-stream")
                    .with_max_concurrent_chunks(PARTS_IN_FLIGHT);
                if create_only {
                    request = request.with_header(http::header::IF_NONE_MATCH, "*")?;
                }
                request.execute_stream(&mut file).await.map(drop)
            })
        })
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
