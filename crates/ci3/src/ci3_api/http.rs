//! Requests to a ci3 server: credentials on every request, at most 5 redirects (301/302/303 a
//! body-less GET, 307/308 the body again, credentials dropped when the host changes), bodies
//! whole or streamed from a file, answers whole or streamed with their length checked.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, Url};

use crate::error::{Error, Kind, Result};

/// Redirects followed before a request fails.
const REDIRECTS: usize = 5;

/// What a request sends.
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// A file of this length, streamed (re-opened for a redirect that wants the body again).
    File(PathBuf, u64),
}

/// A whole answer.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One server, its credentials and the runtime its async client runs on.
pub struct Remote {
    pub base: String,
    authorization: Option<String>,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Remote {
    pub fn new(base: &str, authorization: Option<String>) -> Result<Remote> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::config(format!("cannot start the network runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::config(format!("cannot make an HTTP client: {e}")))?;
        Ok(Remote {
            base: base.trim_end_matches('/').to_string(),
            authorization,
            client,
            runtime,
        })
    }

    /// `method` of `path` (with its query), the whole answer read.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Answer> {
        self.runtime.block_on(async {
            let response = self.send(method, path, &body, headers, timeout).await?;
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(|e| failed(path, e))?;
            Ok(Answer {
                status,
                body: body.to_vec(),
            })
        })
    }

    /// GET `path` into `out`: the status when not 200 (nothing written), an error of kind
    /// `Corrupt` when fewer bytes came than `Content-Length` said.
    pub fn fetch(&self, path: &str, timeout: Duration, out: &mut dyn Write) -> Result<u16> {
        self.runtime.block_on(async {
            let mut response = self.send("GET", path, &Body::Empty, &[], timeout).await?;
            let status = response.status().as_u16();
            if status != 200 {
                return Ok(status);
            }
            let expected = response.content_length();
            let mut got = 0u64;
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        got += chunk.len() as u64;
                        out.write_all(&chunk).map_err(|e| {
                            Error::new(Kind::Io, format!("cannot write the answer: {e}"))
                        })?;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(Error::corrupt(format!(
                            "truncated: {got} of {} bytes ({e})",
                            expected.map_or("?".into(), |n| n.to_string())
                        )))
                    }
                }
            }
            match expected {
                Some(n) if n != got => {
                    Err(Error::corrupt(format!("truncated: {got} of {n} bytes")))
                }
                _ => Ok(200),
            }
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: &Body,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<reqwest::Response> {
        let mut url = Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| Error::usage(format!("bad URL {}{path}: {e}", self.base)))?;
        let mut method = Method::from_bytes(method.as_bytes())
            .map_err(|e| Error::usage(format!("bad method {method}: {e}")))?;
        let mut authorization = self.authorization.clone();
        let mut with_body = true;
        for _ in 0..=REDIRECTS {
            let mut request = self
                .client
                .request(method.clone(), url.clone())
                .timeout(timeout);
            if let Some(value) = &authorization {
                request = request.header("Authorization", value);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if with_body {
                request = match body {
                    Body::Empty => request.header("Content-Length", "0"),
                    Body::Bytes(bytes) => request.body(bytes.clone()),
                    Body::File(path, len) => {
                        let file = tokio::fs::File::open(path).await.map_err(|e| {
                            Error::io(path, format!("cannot read {}: {e}", path.display()))
                        })?;
                        request
                            .header("Content-Length", len.to_string())
                            .body(reqwest::Body::from(file))
                    }
                };
            }
            let response = request.send().await.map_err(|e| failed(url.as_str(), e))?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("Location")
                .and_then(|v| v.to_str().ok());
            let Some(location) = location.filter(|_| matches!(status, 301 | 302 | 303 | 307 | 308))
            else {
                return Ok(response);
            };
            let next = url
                .join(location)
                .map_err(|e| Error::new(Kind::Store, format!("bad redirect {location}: {e}")))?;
            if url.scheme() == "https" && next.scheme() == "http" {
                return Err(Error::new(
                    Kind::Denied,
                    format!("refused a redirect from https to {next}"),
                ));
            }
            if next.host_str() != url.host_str()
                || next.port_or_known_default() != url.port_or_known_default()
            {
                // The password is the server's, not a bucket's.
                authorization = None;
            }
            if (301..=303).contains(&status) {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                with_body = false;
            }
            url = next;
        }
        Err(Error::new(
            Kind::Store,
            format!("more than {REDIRECTS} redirects from {path}"),
        ))
    }
}

/// A request that got no answer: unreachable, or timed out.
fn failed(what: &str, e: reqwest::Error) -> Error {
    let kind = match e.is_timeout() {
        true => Kind::TimedOut,
        false => Kind::Unreachable,
    };
    Error::new(kind, format!("{what}: {e}"))
}

/// `Basic` credentials for `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            match i <= chunk.len() {
                true => out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char),
                false => out.push('='),
            }
        }
    }
    out
}

/// A name percent-encoded for a path: unreserved characters and `/ : + @ = ,` stay.
pub fn encode(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' | b':' | b'+' | b'@' | b'=' | b',' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_encoding() {
        assert_eq!(basic("aztec", "s3cret"), "Basic YXp0ZWM6czNjcmV0");
        assert_eq!(basic("a", "b"), "Basic YTpi");
        assert_eq!(basic("a", "bc"), "Basic YTpiYw==");
        assert_eq!(encode("a b/c:d?"), "a%20b/c:d%3F");
    }
}
