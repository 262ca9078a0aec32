//! Anonymous reads over plain HTTP(S) from `CI3_PUBLIC_CACHE_URL`: what a machine without credentials
//! uses to download from a cache whose objects are public, as the original scripts did with
//! `curl` from the bucket's public address. Objects are at `<url>/<prefix><name>`; writes are
//! refused.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::retry::{retry, Attempt};
use crate::error::{Error, Kind, Result};
use crate::remote::words::{http_meaning, network_cause};
use crate::report::Reporter;
use crate::store::{check_name, Put, Store};

pub struct PublicStore {
    base: String,
    prefix: String,
    client: reqwest::Client,
    /// Short requests, and whole transfers.
    timeouts: (Duration, Duration),
    runtime: tokio::runtime::Runtime,
    reporter: Arc<dyn Reporter>,
}

impl PublicStore {
    /// A store reading `<base>/<prefix><name>`.
    pub fn new(
        base: &str,
        prefix: &str,
        timeouts: (Duration, Duration),
        reporter: Arc<dyn Reporter>,
    ) -> Result<Self> {
        let base = base.trim_end_matches('/').to_string();
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.0)
            .build()
            .map_err(|e| Error::config(format!("cannot set up an HTTP client: {e}")))?;
        Ok(PublicStore {
            base,
            prefix: prefix.to_string(),
            client,
            timeouts,
            runtime: super::runtime()?,
            reporter,
        })
    }

    fn url(&self, name: &str) -> Result<String> {
        check_name(name)?;
        Ok(format!("{}/{}{name}", self.base, self.prefix))
    }

    /// Sends the request `make` builds until it gets an answer that is not a transient failure;
    /// `None` for 404.
    fn send(
        &self,
        what: &str,
        url: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Option<reqwest::Response>> {
        // Either way the last answer is what counts: a transient one when attempts ran out. A
        // request that got no answer is `Unreachable`, whether or not it was worth retrying.
        let unreachable = |message: String| Error::new(Kind::Unreachable, message);
        let last: std::result::Result<Result<reqwest::Response>, Result<reqwest::Response>> =
            retry(&|line| self.reporter.note(line), || {
                // Built inside the runtime: a request with a timeout arms a tokio timer as it is made.
                match self.runtime.block_on(async { make().send().await }) {
                    Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                        let cause = format!("{what} {url}: HTTP {}", r.status());
                        Attempt::Transient(Ok(r), cause)
                    }
                    Ok(r) => Attempt::Done(Ok(Ok(r))),
                    Err(e) => {
                        let message = format!("{what} {url}: {}", network_cause(&e));
                        if !e.is_timeout() && (e.is_connect() || e.is_request()) {
                            Attempt::Transient(Err(unreachable(message.clone())), message)
                        } else {
                            Attempt::Done(Ok(Err(unreachable(message))))
                        }
                    }
                }
            });
        let (Ok(answer) | Err(answer)) = last;
        match answer {
            Ok(r) if r.status().is_success() => Ok(Some(r)),
            Ok(r) if r.status().as_u16() == 404 => Ok(None),
            Ok(r) => {
                let status = r.status();
                let kind = match status.as_u16() {
                    401 | 403 => Kind::Denied,
                    _ => Kind::Store,
                };
                let meaning = http_meaning(status.as_u16());
                Err(Error::new(
                    kind,
                    format!("{what} {url}: HTTP {} ({meaning})", status.as_u16()),
                ))
            }
            Err(err) => Err(err),
        }
    }

    fn read_only(&self, what: &str) -> Error {
        Error::new(
            Kind::Denied,
            format!(
                "cannot {what}: {} is read-only (writes need S3 credentials)",
                self.describe()
            ),
        )
    }
}

impl Store for PublicStore {
    fn describe(&self) -> String {
        format!("public {}/{}", self.base, self.prefix)
    }

    fn can_write(&self) -> bool {
        false
    }

    fn exists(&self, name: &str) -> Result<bool> {
        let url = self.url(name)?;
        let meta = self.timeouts.0;
        let found = self.send("check", &url, || self.client.head(&url).timeout(meta))?;
        Ok(found.is_some())
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> Result<bool> {
        let url = self.url(name)?;
        let bulk = self.timeouts.1;
        let Some(mut response) =
            self.send("download", &url, || self.client.get(&url).timeout(bulk))?
        else {
            return Ok(false);
        };
        // Once bytes have reached `out` a retry would duplicate them: a broken transfer fails.
        self.runtime.block_on(async {
            while let Some(chunk) = response.chunk().await.map_err(|e| {
                Error::new(
                    Kind::Unreachable,
                    format!("download {url}: {}", network_cause(&e)),
                )
            })? {
                out.write_all(&chunk).map_err(|e| {
                    Error::new(
                        Kind::Io,
                        format!("cannot pass on the download of {url}: {e}"),
                    )
                })?;
            }
            Ok(true)
        })
    }

    fn put_file(&self, _name: &str, _src: &Path, _create_only: bool) -> Result<Put> {
        Err(self.read_only("upload"))
    }

    fn put_reader(
        &self,
        _name: &str,
        _reader: &mut dyn std::io::Read,
        _create_only: bool,
    ) -> Result<Put> {
        Err(self.read_only("upload"))
    }

    fn put_bytes(&self, _name: &str, _bytes: &[u8], _create_only: bool) -> Result<Put> {
        Err(self.read_only("upload"))
    }

    fn delete(&self, _name: &str) -> Result<bool> {
        Err(self.read_only("delete"))
    }

    fn list(&self, _prefix: &str) -> Result<Vec<String>> {
        Err(self.read_only("list"))
    }
}
