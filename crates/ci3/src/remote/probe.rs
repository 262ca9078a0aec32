//! What a server is, asked once per process: `/health` (ours advertises `X-CI3-Features:
//! objects`), and in CI the preflight that proves the credentials before any work.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use reqwest::Method;

use super::connection::{status_error, Body, Connection, Request};
use crate::error::{Error, Kind, Result};

/// What the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Our server: `/objects/NAME` maps the store one-to-one.
    Full,
    /// Any other ci3 server: the upstream API only (artifacts, logs, kv, lists, runs).
    Api,
}

/// Outcomes of `/health` and of the preflight, by server URL: a process asks each once.
type Outcomes = HashMap<String, std::result::Result<Mode, (Kind, String)>>;

fn health_outcomes() -> &'static Mutex<Outcomes> {
    static CACHE: OnceLock<Mutex<Outcomes>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn preflight_outcomes() -> &'static Mutex<Outcomes> {
    static CACHE: OnceLock<Mutex<Outcomes>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `key`'s remembered outcome in `cache`, else `ask`'s, remembered.
fn once(cache: &Mutex<Outcomes>, key: &str, ask: impl FnOnce() -> Result<Mode>) -> Result<Mode> {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let outcome = cache
        .entry(key.to_string())
        .or_insert_with(|| ask().map_err(|e| (e.kind(), e.message().to_string())));
    outcome
        .clone()
        .map_err(|(kind, message)| Error::new(kind, message))
}

impl Connection {
    /// The server's mode, from one `/health` probe per process: body exactly `ci3-server`,
    /// else it is no ci3 server (`Store`); no answer is `Unreachable`.
    pub fn mode(&self) -> Result<Mode> {
        once(health_outcomes(), self.base(), || self.health())
    }

    /// The mode, and the credentials proven as upstream's `ci3_client check` does: `POST
    /// /kv/mget` with `ci3-preflight` must answer 200. Refused credentials are a configuration
    /// error (exit 2): in CI a typo must stop the run, not turn its cache off.
    pub fn check(&self) -> Result<Mode> {
        let mode = self.mode()?;
        once(preflight_outcomes(), self.base(), || {
            let request = Request::new(Method::POST, "/kv/mget")
                .header("content-type", "text/plain")
                .body(Body::Bytes(b"ci3-preflight\n".to_vec()));
            let response = self.send(request)?;
            match response.status() {
                200 => Ok(mode),
                status @ (401 | 403) => Err(Error::config(format!(
                    "{}={}: the server refused the credentials (HTTP {status}); check {}",
                    self.target().var,
                    self.base(),
                    match self.target().has_credentials() {
                        true => "CI3_PASSWORD, CI3_USER or CI3_SERVER_TOKEN",
                        false => "CI3_PASSWORD or CI3_SERVER_TOKEN (none is set)",
                    }
                ))),
                _ => Err(response.unexpected()),
            }
        })
    }

    fn health(&self) -> Result<Mode> {
        let response = self.send(Request::get("/health"))?;
        if response.status() != 200 {
            let what = response.what().to_string();
            return Err(status_error(&what, response.status()));
        }
        let objects = response
            .header("x-ci3-features")
            .is_some_and(|f| f.split([',', ' ']).any(|w| w.trim() == "objects"));
        let what = response.what().to_string();
        let body = response.bytes()?;
        if body != b"ci3-server" {
            return Err(Error::new(
                Kind::Store,
                format!(
                    "{}={}: not a ci3 server ({what} did not answer 'ci3-server')",
                    self.target().var,
                    self.base()
                ),
            ));
        }
        Ok(match objects {
            true => Mode::Full,
            false => Mode::Api,
        })
    }
}
