//! One connection to a ci3 server: any request on any route, with credentials, time limits,
//! retries of refused connections and redirects followed by hand (so a re-sent body and a
//! dropped `Authorization` are decided here, not by the HTTP client).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, Url};

use super::target::Target;
use super::words::network_cause;
use crate::error::{Error, Kind, Result};

/// At most this many redirects per request, as upstream's client.
const MAX_REDIRECTS: usize = 5;
/// Tries of a request whose connection was refused (a server restarting).
const ATTEMPTS: u32 = 3;

/// What a request sends.
#[derive(Clone, Debug)]
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// A file, streamed with its length as `Content-Length`; reopened when a 307/308 asks
    /// for the body again.
    File(PathBuf),
}

/// A request on a route of the server: `path` starts with `/`, is already percent-encoded
/// (see [`encode`]) and may carry a query.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// The whole request ends within this, instead of the connection's transfer limit.
    pub timeout: Option<Duration>,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Body::Empty,
            timeout: None,
        }
    }

    pub fn get(path: impl Into<String>) -> Request {
        Request::new(Method::GET, path)
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Body) -> Request {
        self.body = body;
        self
    }

    /// The whole request, body included, ends within `limit` (upstream's per-command limits).
    pub fn timeout(mut self, limit: Duration) -> Request {
        self.timeout = Some(limit);
        self
    }
}

/// The server's answer, whatever its status; the body is read on demand.
pub struct Response<'c> {
    conn: &'c Connection,
    inner: reqwest::Response,
    /// What was asked, for messages: `GET http://host:port/path` (no query).
    what: String,
}

impl Response<'_> {
    pub fn status(&self) -> u16 {
        self.inner.status().as_u16()
    }

    /// A header's value, when it is there and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name)?.to_str().ok()
    }

    /// `Content-Length`, as announced.
    pub fn length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    /// `METHOD URL` of the request, for messages.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// An error for an answer the caller did not expect: 401/403 are `Denied`, else `Store`.
    pub fn unexpected(&self) -> Error {
        status_error(&self.what, self.status())
    }

    /// Streams the body into `out`; a body shorter than its `Content-Length` is `Corrupt`.
    pub fn copy_to(mut self, out: &mut dyn Write) -> Result<u64> {
        let announced = self.length();
        let what = self.what.clone();
        let conn = self.conn;
        let copied = conn.runtime.block_on(async {
            let mut copied = 0u64;
            loop {
                let chunk = self
                    .inner
                    .chunk()
                    .await
                    .map_err(|e| transfer_error(&what, &e))?;
                let Some(chunk) = chunk else { break };
                out.write_all(&chunk).map_err(|e| {
                    Error::new(
                        Kind::Io,
                        format!("cannot pass on the answer of {what}: {e}"),
                    )
                })?;
                copied += chunk.len() as u64;
            }
            Ok::<_, Error>(copied)
        })?;
        if announced.is_some_and(|n| n != copied) {
            return Err(Error::corrupt(format!(
                "{what}: {copied} bytes of the {} announced",
                announced.unwrap_or_default()
            )));
        }
        Ok(copied)
    }

    /// The whole body.
    pub fn bytes(self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.copy_to(&mut out)?;
        Ok(out)
    }

    /// The whole body as text (invalid UTF-8 replaced).
    pub fn text(self) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.bytes()?).into_owned())
    }
}

/// The connection to one ci3 server. Safe to share between threads (`Arc<Connection>`): each
/// blocking call drives the shared runtime until its answer is there.
pub struct Connection {
    target: Target,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    /// A whole request, body included, ends within this (`CI3_S3_TRANSFER_TIMEOUT`).
    transfer: Duration,
    /// Tries of a request whose connection is refused.
    attempts: u32,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({})", self.target.base)
    }
}

impl Connection {
    /// A connection to `target`: no byte for `idle` fails a request (`CI3_S3_TIMEOUT`), and a
    /// request with its body ends within `transfer` (`CI3_S3_TRANSFER_TIMEOUT`).
    pub fn new(target: Target, idle: Duration, transfer: Duration) -> Result<Connection> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(idle)
            .read_timeout(idle)
            .build()
            .map_err(|e| Error::config(format!("cannot set up an HTTP client: {e}")))?;
        // One worker: the pooled connections progress while no caller is blocked on them.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::config(format!("cannot start the network runtime: {e}")))?;
        Ok(Connection {
            target,
            client,
            runtime,
            transfer,
            attempts: ATTEMPTS,
        })
    }

    /// The same connection trying each request once: for a server that is only looked for
    /// (`localhost:4275`), where a refusal means "none here", not "restarting".
    pub fn single_try(mut self) -> Connection {
        self.attempts = 1;
        self
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// `http(s)://host[:port]`.
    pub fn base(&self) -> &str {
        &self.target.base
    }

    /// Sends `request`, following redirects, and returns the final answer whatever its status.
    /// Errors: `Unreachable` (no answer; a refused connection is tried 3 times), `TimedOut`,
    /// `Store` (too many redirects, a redirect without `Location`), `Denied` (https → http).
    pub fn send(&self, request: Request) -> Result<Response<'_>> {
        let origin = self.url(&request.path)?;
        let mut url = origin.clone();
        let mut method = request.method.clone();
        let mut body = request.body.clone();
        // Once a hop leaves the server's host the credentials stay behind, even on a way back.
        let mut authorized = true;
        for hop in 0..=MAX_REDIRECTS {
            authorized &= same_host(&url, &origin);
            let what = format!("{method} {}", strip_query(&url));
            let this = Hop {
                url: &url,
                method: &method,
                headers: &request.headers,
                body: &body,
                authorized,
                timeout: request.timeout.unwrap_or(self.transfer),
            };
            let response = self.attempt(&what, &this)?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok(Response {
                    conn: self,
                    inner: response,
                    what,
                });
            }
            if hop == MAX_REDIRECTS {
                return Err(Error::new(
                    Kind::Store,
                    format!("{what}: more than {MAX_REDIRECTS} redirects"),
                ));
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok());
            let next = next_hop(&what, &url, status, location)?;
            if (301..=303).contains(&status) && method != Method::HEAD {
                method = Method::GET;
                body = Body::Empty;
            }
            url = next;
        }
        unreachable!("the loop returns by its last hop")
    }

    /// One hop, tried again while the connection is refused.
    fn attempt(&self, what: &str, hop: &Hop) -> Result<reqwest::Response> {
        let Hop {
            url,
            method,
            headers,
            body,
            authorized,
            timeout,
        } = *hop;
        let mut attempt = 1;
        loop {
            let sent = self.runtime.block_on(async {
                let mut builder = self
                    .client
                    .request(method.clone(), url.clone())
                    .timeout(timeout);
                for (name, value) in headers {
                    if *name == "content-length" && matches!(body, Body::Empty) {
                        continue;
                    }
                    builder = builder.header(*name, value);
                }
                if let (true, Some(auth)) = (authorized, &self.target.auth) {
                    builder = builder.header("authorization", auth);
                }
                builder = match body {
                    Body::Empty => builder,
                    Body::Bytes(bytes) => builder.body(bytes.clone()),
                    Body::File(path) => {
                        let file = tokio::fs::File::open(path).await.map_err(|e| {
                            Error::io(path, format!("cannot read {}: {e}", path.display()))
                        })?;
                        let len = file.metadata().await.map(|m| m.len()).map_err(|e| {
                            Error::io(path, format!("cannot read {}: {e}", path.display()))
                        })?;
                        builder
                            .header("content-length", len.to_string())
                            .body(reqwest::Body::from(file))
                    }
                };
                builder.send().await.map_err(SendError::Net)
            });
            match sent {
                Ok(response) => return Ok(response),
                Err(SendError::Local(e)) => return Err(e),
                Err(SendError::Net(e)) if attempt < self.attempts && refused(&e) => {
                    std::thread::sleep(Duration::from_millis(150 * 4u64.pow(attempt - 1)));
                    attempt += 1;
                }
                Err(SendError::Net(e)) => return Err(transfer_error(what, &e)),
            }
        }
    }

    fn url(&self, path: &str) -> Result<Url> {
        if !path.starts_with('/') {
            return Err(Error::new(
                Kind::Usage,
                format!("a request path starts with '/', not '{path}'"),
            ));
        }
        Url::parse(&format!("{}{path}", self.target.base))
            .map_err(|e| Error::new(Kind::Usage, format!("bad request path '{path}': {e}")))
    }
}

/// One hop of a request: where, how, and whether the credentials go along.
struct Hop<'a> {
    url: &'a Url,
    method: &'a Method,
    headers: &'a [(&'static str, String)],
    body: &'a Body,
    authorized: bool,
    timeout: Duration,
}

/// Where redirect `status` of `what` (at `url`) leads: `location` resolved against `url`. No
/// `Location` is a `Store` error; from https to anything else is `Denied` (a password or an
/// artifact must not cross the network in the clear because a server said so).
fn next_hop(what: &str, url: &Url, status: u16, location: Option<&str>) -> Result<Url> {
    let next = location.and_then(|l| url.join(l).ok()).ok_or_else(|| {
        Error::new(
            Kind::Store,
            format!("{what}: HTTP {status} without a Location"),
        )
    })?;
    if url.scheme() == "https" && next.scheme() != "https" {
        return Err(Error::new(
            Kind::Denied,
            format!(
                "{what}: refused a redirect from https to {}",
                strip_query(&next)
            ),
        ));
    }
    Ok(next)
}

/// Why a send failed: locally (a body file) or on the network.
enum SendError {
    Local(Error),
    Net(reqwest::Error),
}

impl From<Error> for SendError {
    fn from(e: Error) -> Self {
        SendError::Local(e)
    }
}

/// An error for status `status` of `what`: 401/403 `Denied`, else `Store`.
pub fn status_error(what: &str, status: u16) -> Error {
    let (kind, meaning) = match status {
        401 => (Kind::Denied, "not authenticated"),
        403 => (Kind::Denied, "access denied"),
        404 => (Kind::Miss, "not found"),
        400..=499 => (Kind::Store, "refused"),
        _ => (Kind::Store, "server error"),
    };
    Error::new(kind, format!("{what}: HTTP {status} ({meaning})"))
}

/// `text` percent-encoded for a path: unreserved characters and `/ : + @ = ,` stay (as
/// upstream's client leaves them), every other byte is `%XX`.
pub fn encode(text: &str) -> String {
    escape(text, true)
}

/// `text` percent-encoded for a query value, where a `+` would read as a space.
pub fn encode_query(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, keep_plus: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'+' if keep_plus => out.push('+'),
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b':'
            | b'@'
            | b'='
            | b',' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A no-answer failure of `what`, in the words a person looks for.
fn transfer_error(what: &str, e: &reqwest::Error) -> Error {
    let kind = match e.is_timeout() {
        true => Kind::TimedOut,
        false => Kind::Unreachable,
    };
    Error::new(kind, format!("{what}: {}", network_cause(e)))
}

fn refused(e: &reqwest::Error) -> bool {
    e.is_connect() && network_cause(e) == "connection refused"
}

/// `url` without its query (a redirect target may carry a presigned credential there).
fn strip_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

fn same_host(a: &Url, b: &Url) -> bool {
    a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_what_upstream_keeps() {
        assert_eq!(encode("a/b:c+d@e=f,g~h.i_j-k"), "a/b:c+d@e=f,g~h.i_j-k");
        assert_eq!(encode_query("c+d"), "c%2Bd");
        assert_eq!(encode("a b%?#&"), "a%20b%25%3F%23%26");
    }

    #[test]
    fn redirects_never_leave_https_and_need_a_location() {
        let secure = Url::parse("https://ci.example/artifacts/a?ttl=1").unwrap();
        let what = "GET https://ci.example/artifacts/a";
        let down = next_hop(what, &secure, 302, Some("http://bucket.example/a?sig=x")).unwrap_err();
        assert_eq!(down.kind(), Kind::Denied);
        assert!(
            down.message()
                .contains("refused a redirect from https to http://bucket.example/a"),
            "{down}"
        );
        assert!(
            !down.message().contains("sig=x"),
            "no presigned query: {down}"
        );
        let up = next_hop(what, &secure, 307, Some("https://bucket.example/a")).unwrap();
        assert_eq!(up.as_str(), "https://bucket.example/a");
        let relative = next_hop(what, &secure, 308, Some("/b")).unwrap();
        assert_eq!(relative.as_str(), "https://ci.example/b");
        let plain = Url::parse("http://127.0.0.1:9/x").unwrap();
        let upgraded = next_hop("GET x", &plain, 301, Some("https://h/x")).unwrap();
        assert_eq!(upgraded.scheme(), "https");
        let lost = next_hop("GET x", &plain, 303, None).unwrap_err();
        assert_eq!(lost.kind(), Kind::Store);
        assert!(
            lost.message().contains("HTTP 303 without a Location"),
            "{lost}"
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(status_error("GET x", 401).kind(), Kind::Denied);
        assert_eq!(status_error("GET x", 403).kind(), Kind::Denied);
        assert_eq!(status_error("GET x", 502).kind(), Kind::Store);
        assert!(status_error("GET x", 502).message().contains("HTTP 502"));
    }
}
