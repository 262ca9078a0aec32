//! Request bodies: refused from their headers alone (411, 415, 413) before a byte is read, read
//! whole when small, else streamed through a bounded channel into a blocking store write that
//! publishes only when exactly `Content-Length` bytes arrived (a short body fails the reader).

use std::future::poll_fn;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::HeaderMap;
use hyper::body::{Body as _, Incoming};
use tokio::sync::mpsc;

use super::reply::{self, Response};
use crate::error::{Error, Kind, Result};

/// A client that sends no byte for this long is gone.
const IDLE: Duration = Duration::from_secs(300);
/// Chunks in flight between the connection and the store: bounds a body's memory.
const IN_FLIGHT: usize = 8;

/// A body as its headers announce it.
#[derive(Debug, Clone, Copy)]
pub struct Announced {
    pub length: u64,
    pub gzip: bool,
}

/// The announced body of a write, or the refusal to send without reading it: 411 without a
/// `Content-Length` (chunked included), 415 for an encoding the route does not take (gzip only
/// where `gzip_ok`), 413 beyond `limit`.
pub fn announced(
    headers: &HeaderMap,
    limit: u64,
    gzip_ok: bool,
) -> std::result::Result<Announced, Box<Response>> {
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(length) = length.filter(|_| !headers.contains_key(TRANSFER_ENCODING)) else {
        return Err(Box::new(reply::closing(reply::text(
            411,
            "Content-Length required\n",
        ))));
    };
    let encoding = headers
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("") | Some("identity") => false,
        Some("gzip") if gzip_ok => true,
        Some(other) => {
            return Err(Box::new(reply::closing(reply::text(
                415,
                format!("Content-Encoding {other} is not taken here\n"),
            ))))
        }
    };
    if length > limit {
        return Err(Box::new(too_large(limit)));
    }
    Ok(Announced { length, gzip })
}

/// 413, the body unread.
pub fn too_large(limit: u64) -> Response {
    reply::closing(reply::text(
        413,
        format!("body too large (at most {limit} bytes)\n"),
    ))
}

/// 400 for a body shorter than announced: nothing was stored.
pub fn incomplete() -> Response {
    reply::closing(reply::text(400, "incomplete body\n"))
}

/// Why a body that arrived whole is refused after reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It decompresses (or its line runs) beyond the route's limit.
    TooLarge(u64),
    BadGzip,
}

impl Refusal {
    pub fn reply(self) -> Response {
        match self {
            Refusal::TooLarge(limit) => too_large(limit),
            Refusal::BadGzip => reply::closing(reply::text(400, "body is not valid gzip\n")),
        }
    }
}

/// The next chunk of a body; `None` at its end; an error for a client gone or silent.
async fn next(body: &mut Incoming) -> io::Result<Option<Bytes>> {
    loop {
        let frame = tokio::time::timeout(IDLE, poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no byte for 300 s"))?;
        match frame {
            None => return Ok(None),
            Some(Err(e)) => return Err(io::Error::other(e)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// A small body read whole (its length was checked against the route's limit); `None` if it
/// arrived short.
pub async fn whole(mut body: Incoming, announced: Announced) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(announced.length as usize);
    while let Ok(Some(chunk)) = next(&mut body).await {
        out.extend_from_slice(&chunk);
    }
    (out.len() as u64 == announced.length).then_some(out)
}

/// Reads and drops a body, so the connection serves the next request; whether it was whole.
pub async fn discard(mut body: Incoming, announced: Announced) -> bool {
    let mut got = 0u64;
    while let Ok(Some(chunk)) = next(&mut body).await {
        got += chunk.len() as u64;
    }
    got == announced.length
}

/// A small body decompressed as announced, within `limit`.
pub fn decoded(bytes: Vec<u8>, gzip: bool, limit: u64) -> std::result::Result<Vec<u8>, Refusal> {
    if !gzip {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|_| Refusal::BadGzip)?;
    if out.len() as u64 > limit {
        return Err(Refusal::TooLarge(limit));
    }
    Ok(out)
}

/// What became of a streamed write.
pub enum Outcome<T> {
    Stored(T),
    /// Refused for what the body held, or for arriving short: the answer to send.
    Refused(Response),
    /// The store failed; `abandoned` when the rest of the body was left unread.
    Failed(Error, bool),
}

/// Streams the body into `write`, run on a blocking thread with the body (decompressed when
/// gzipped, at most `limit` bytes of it) as its reader. A body that ends short makes the reader
/// fail, so a store publishes nothing.
pub async fn stream<T: Send + 'static>(
    mut body: Incoming,
    announced: Announced,
    limit: u64,
    write: impl FnOnce(&mut dyn Read) -> Result<T> + Send + 'static,
) -> Outcome<T> {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(IN_FLIGHT);
    let refusal = Arc::new(Mutex::new(None));
    let flag = refusal.clone();
    let task = tokio::task::spawn_blocking(move || {
        let raw = Channel {
            rx,
            chunk: Bytes::new(),
            left: announced.length,
        };
        let mut reader: Box<dyn Read> = match announced.gzip {
            true => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            false => Box::new(raw),
        };
        let mut capped = Capped {
            inner: &mut reader,
            left: limit,
            limit,
            gzip: announced.gzip,
            refusal: flag,
        };
        write(&mut capped)
    });
    // Feeds the channel until the body ends or the writer stops taking it.
    let pump = async move {
        let mut got = 0u64;
        loop {
            let chunk = match next(&mut body).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) if got == announced.length => return (true, false),
                Ok(None) => {
                    let short = format!("body ended after {got} of {} bytes", announced.length);
                    let _ = tx.send(Err(io::Error::other(short))).await;
                    return (false, false);
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return (false, false);
                }
            };
            got += chunk.len() as u64;
            if tx.send(Ok(chunk)).await.is_err() {
                return (true, true);
            }
        }
    };
    let ((whole, abandoned), written) = tokio::join!(pump, task);
    if !whole {
        return Outcome::Refused(incomplete());
    }
    if let Some(refusal) = *refusal.lock().expect("refusal") {
        return Outcome::Refused(refusal.reply());
    }
    match written {
        Ok(Ok(value)) => Outcome::Stored(value),
        Ok(Err(e)) => Outcome::Failed(e, abandoned),
        Err(e) => Outcome::Failed(
            Error::new(Kind::Failed, format!("the write stopped: {e}")),
            abandoned,
        ),
    }
}

/// The blocking end of the channel, as a reader: its end is the body's only once all the
/// announced bytes came (a connection dropped at shutdown closes the channel early).
struct Channel {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
    left: u64,
}

impl Read for Channel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => {
                    self.chunk = chunk?;
                    self.left = self.left.saturating_sub(self.chunk.len() as u64);
                }
                None if self.left == 0 => return Ok(0),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the body stopped {} bytes short", self.left),
                    ))
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// A reader failing past `limit` bytes, and recording why a read failed for the answer.
struct Capped<'a> {
    inner: &'a mut dyn Read,
    left: u64,
    limit: u64,
    gzip: bool,
    refusal: Arc<Mutex<Option<Refusal>>>,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(self.left.saturating_add(1).min(usize::MAX as u64) as usize);
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                // A short body fails the decoder too; the caller tells that case apart first.
                if self.gzip {
                    self.refusal
                        .lock()
                        .expect("refusal")
                        .get_or_insert(Refusal::BadGzip);
                }
                return Err(e);
            }
        };
        if n as u64 > self.left {
            *self.refusal.lock().expect("refusal") = Some(Refusal::TooLarge(self.limit));
            return Err(io::Error::other(format!("more than {} bytes", self.limit)));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
