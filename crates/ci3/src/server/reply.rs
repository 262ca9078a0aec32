//! Answers: every one with `Content-Length` (upstream clients compare it with what arrived), a
//! body either whole or streamed from a blocking store read, and `Connection: close` on those
//! sent without reading a request body that was announced.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::StatusCode;
use hyper::body::{Frame, SizeHint};
use tokio::sync::mpsc;

pub const TEXT: &str = "text/plain; charset=utf-8";
pub const JSON: &str = "application/json";
pub const BYTES: &str = "application/octet-stream";

pub type Response = http::Response<Body>;

/// A response body: bytes at hand, or chunks a blocking reader sends (an error ends the
/// connection, so a client sees an answer shorter than its `Content-Length`).
pub enum Body {
    Whole(Option<Bytes>),
    Streamed(mpsc::Receiver<io::Result<Bytes>>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Body::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Streamed(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| c.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Whole(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Whole(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Body::Streamed(_) => SizeHint::default(),
        }
    }
}

/// An answer with a body at hand.
pub fn with_body(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
    let body: Bytes = body.into();
    let mut response = http::Response::new(Body::Whole(Some(body.clone())));
    *response.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("ascii"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    response
}

/// A text answer.
pub fn text(status: u16, body: impl Into<Bytes>) -> Response {
    with_body(status, TEXT, body)
}

/// An answer without a body (`Content-Length: 0`).
pub fn empty(status: u16) -> Response {
    let mut response = http::Response::new(Body::Whole(None));
    *response.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(0));
    response
}

/// A 200 whose `len` bytes come through `rx`; with `head`, the headers alone.
pub fn streamed(
    content_type: &str,
    len: u64,
    rx: Option<mpsc::Receiver<io::Result<Bytes>>>,
) -> Response {
    let body = match rx {
        Some(rx) => Body::Streamed(rx),
        None => Body::Whole(None),
    };
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("ascii"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// `response` for a HEAD: the same headers, no body.
pub fn headers_only(mut response: Response) -> Response {
    *response.body_mut() = Body::Whole(None);
    response
}

/// `response` with one more header.
pub fn header(mut response: Response, name: &'static str, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
    response
}

/// `response`, after which the connection is closed: its request's body was not read (or did
/// not arrive whole), so what follows on the connection is no request.
pub fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 502: the store failed; the cause goes to the server's log, not to the client.
pub fn store_failed() -> Response {
    text(502, "store error\n")
}
