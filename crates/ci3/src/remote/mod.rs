//! The connection to a ci3 server (`CI3_STORE=ci3+http(s)://`, `CI3_SERVER`): what the store
//! backend and `ci3_client`'s commands send every request through.
//!
//! API, for library code that talks to a server:
//! - [`Connection::open`]`(settings)` → `Option<Connection>`: the server the settings choose
//!   (`CI3_STORE=ci3+http://HOST:PORT` wins, else a non-empty `CI3_SERVER`), with the
//!   credentials (`CI3_SERVER_TOKEN` → Bearer, else `CI3_PASSWORD` → Basic as `CI3_USER`,
//!   default `aztec`) and time limits (`CI3_S3_TIMEOUT` idle, `CI3_S3_TRANSFER_TIMEOUT` whole
//!   request). A URL with a user, query or fragment, or unparsable, is a config error (exit 2)
//!   naming the variable, never echoing a secret. `None`: no server chosen.
//! - [`Connection::send`]`(Request)` → [`Response`] whatever the status: build one with
//!   `Request::new(Method::PUT, format!("/kv/{}", encode(key))).header(..).body(Body::Bytes(..))`
//!   (`Body::File` streams a file with its length; a server needs `Content-Length`, so spool a
//!   stream of unknown length first). Redirects are followed (≤ 5; 301/302/303 become a
//!   body-less GET, HEAD stays; 307/308 re-send the body; `Authorization` is dropped once the
//!   host changes; https → http refused). Only refused connections are retried (3 tries).
//!   Errors: `Unreachable` (no answer), `TimedOut`, `Denied` (https → http), `Store`.
//! - [`Response`]: `status()`, `header(name)`, `length()`, `copy_to(&mut dyn Write)`, `bytes()`,
//!   `text()`; `unexpected()` turns a status nobody expected into an error (401/403 `Denied`).
//!   [`status_error`] does the same from a status.
//! - [`Connection::mode`]: one `/health` probe per process and server → [`Mode::Full`] (our
//!   server, `X-CI3-Features: objects`) or [`Mode::Api`] (upstream API only).
//!   [`Connection::check`]: the mode plus upstream's preflight (`POST /kv/mget`
//!   `ci3-preflight\n` → 200), refused credentials = config error (exit 2); the store runs it
//!   when it is opened with `CI=1`.
//! - Whether the tools' store is a server: `store::Selected::server` is
//!   `Some(Arc<Connection>)` exactly when a ci3 server was chosen, so the test cache and logs
//!   go through its API (`/kv`, `/logs`) instead of store objects.

mod connection;
mod probe;
mod target;
pub mod words;

use std::sync::Arc;

pub use connection::{encode, encode_query, status_error, Body, Connection, Request, Response};
pub use probe::Mode;
pub use reqwest::Method;
pub use target::Target;

use crate::error::Result;
use crate::settings::Settings;

impl Connection {
    /// The connection to the server the settings choose, `None` when they choose none.
    pub fn open(settings: &Settings) -> Result<Option<Arc<Connection>>> {
        let Some(target) = Target::from_settings(settings)? else {
            return Ok(None);
        };
        let vars = &settings.store;
        let conn = Connection::new(target, vars.request_timeout, vars.transfer_timeout)?;
        Ok(Some(Arc::new(conn)))
    }
}
