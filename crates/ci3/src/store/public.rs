//! Anonymous reads over plain HTTP(S) from `CI3_PUBLIC_URL`: what a machine without credentials
//! uses to download from a cache whose objects are public, as the original scripts did with
//! `curl` from the bucket's public address. Objects are at `<url>/<prefix><name>`; writes are
//! refused.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Result};

use super::{backoff, check_name, timeout, Failure, Put, Store, StoreError, StoreResult, ATTEMPTS};

pub struct PublicStore {
    base: String,
    prefix: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl PublicStore {
    /// A store reading `<base>/<prefix><name>`.
    pub fn new(base: &str, prefix: &str) -> Result<Self> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(anyhow!(
                "CI3_PUBLIC_URL={base}: not an http:// or https:// URL"
            ));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(timeout("CI3_S3_TIMEOUT", 30))
            .build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(PublicStore {
            base,
            prefix: prefix.to_string(),
            client,
            runtime,
        })
    }

    fn url(&self, name: &str) -> StoreResult<String> {
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
    ) -> StoreResult<Option<reqwest::Response>> {
        let mut attempt = 1;
        loop {
            // Built inside the runtime: a request with a timeout arms a tokio timer as it is made.
            let result = self.runtime.block_on(async { make().send().await });
            let transient = match &result {
                Ok(r) => r.status().is_server_error() || r.status().as_u16() == 429,
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            };
            if transient && attempt < ATTEMPTS {
                std::thread::sleep(backoff(attempt));
                attempt += 1;
                continue;
            }
            return match result {
                Ok(r) if r.status().is_success() => Ok(Some(r)),
                Ok(r) if r.status().as_u16() == 404 => Ok(None),
                Ok(r) => {
                    let status = r.status();
                    let failure = match status.as_u16() {
                        401 | 403 => Failure::Denied,
                        s if s >= 500 || s == 429 => Failure::Unreachable,
                        _ => Failure::Other,
                    };
                    Err(StoreError::new(
                        failure,
                        format!("{what} {url}: HTTP {status}"),
                    ))
                }
                Err(e) => Err(StoreError::new(
                    Failure::Unreachable,
                    format!("{what} {url}: {}", crate::cli::one_line(&anyhow!(e))),
                )),
            };
        }
    }

    fn read_only(&self, what: &str) -> StoreError {
        StoreError::new(
            Failure::Denied,
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

    fn exists(&self, name: &str) -> StoreResult<bool> {
        let url = self.url(name)?;
        let meta = timeout("CI3_S3_TIMEOUT", 30);
        let found = self.send("check", &url, || self.client.head(&url).timeout(meta))?;
        Ok(found.is_some())
    }

    fn get(&self, name: &str, out: &mut dyn Write) -> StoreResult<bool> {
        let url = self.url(name)?;
        let bulk = timeout("CI3_S3_TRANSFER_TIMEOUT", 3600);
        let Some(mut response) =
            self.send("download", &url, || self.client.get(&url).timeout(bulk))?
        else {
            return Ok(false);
        };
        // Once bytes have reached `out` a retry would duplicate them: a broken transfer fails.
        self.runtime.block_on(async {
            while let Some(chunk) = response.chunk().await.map_err(|e| {
                StoreError::new(
                    Failure::Unreachable,
                    format!("download {url}: {}", crate::cli::one_line(&anyhow!(e))),
                )
            })? {
                out.write_all(&chunk).map_err(|e| {
                    StoreError::new(
                        Failure::Other,
                        format!("cannot write download of {url}: {e}"),
                    )
                })?;
            }
            Ok(true)
        })
    }

    fn put_file(&self, _name: &str, _src: &Path, _create_only: bool) -> StoreResult<Put> {
        Err(self.read_only("upload"))
    }

    fn put_reader(
        &self,
        _name: &str,
        _reader: &mut dyn std::io::Read,
        _create_only: bool,
    ) -> StoreResult<Put> {
        Err(self.read_only("upload"))
    }

    fn put_bytes(&self, _name: &str, _bytes: &[u8], _create_only: bool) -> StoreResult<Put> {
        Err(self.read_only("upload"))
    }

    fn delete(&self, _name: &str) -> StoreResult<bool> {
        Err(self.read_only("delete"))
    }

    fn list(&self, _prefix: &str) -> StoreResult<Vec<String>> {
        Err(self.read_only("list"))
    }
}
