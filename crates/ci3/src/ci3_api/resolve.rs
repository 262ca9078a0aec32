//! Which server a process talks to (§2.1): an explicit `CI3_SERVER` (or `CI3_STORE=ci3+http://`)
//! must answer `/health` and take the credentials (a pass remembered in `_CI3_CHECKED`); unset
//! outside CI, a configured store is used in-process, else `localhost:4275` is tried; empty
//! outside CI, nothing. CI needs a server and credentials.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::http::{basic, Body, Remote};
use super::Backend;
use crate::error::{Error, Kind, Result};
use crate::report::Reporter;
use crate::settings::Settings;

/// Where a server is looked for when none is named (upstream's port).
pub const LOCAL_SERVER: &str = "http://localhost:4275";

/// The backend and what `ci3_client env` says of it.
pub struct Resolved {
    pub backend: Backend,
    /// The server's URL; empty for none.
    pub server: String,
    /// The base of the links printed (`CI3_PUBLIC_URL`, default the server).
    pub public_url: String,
    /// `_CI3_CHECKED` for the server and password that passed the check.
    pub checked: Option<String>,
    pub ci: bool,
}

fn var(settings: &Settings, name: &str) -> Option<String> {
    settings.var(name).map(|v| v.to_string_lossy().into_owned())
}

/// The server named by `CI3_STORE=ci3+http(s)://…` or `CI3_SERVER`; `Some("")` when set empty.
pub fn named_server(settings: &Settings) -> Option<String> {
    let store = settings.store.url.as_deref().unwrap_or("");
    if let Some(rest) = store.strip_prefix("ci3+") {
        if rest.starts_with("http://") || rest.starts_with("https://") {
            return Some(rest.to_string());
        }
    }
    var(settings, "CI3_SERVER")
}

/// The server a URL names (`http(s)://host[:port]`), or a config error naming `variable`.
fn server_url(url: &str, variable: &str) -> Result<String> {
    let bad = |why: &str| Error::config(format!("{variable}={url}: {why}"));
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad("not an http(s)://host[:port] URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // The URL itself is not repeated: it holds a secret.
        return Err(Error::config(format!(
            "{variable}: credentials go in CI3_PASSWORD, not in the URL"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("no query or fragment allowed"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The `Authorization` header: `CI3_SERVER_TOKEN` (Bearer), else `CI3_PASSWORD` (Basic, user
/// `CI3_USER`, default `aztec`); and the secret `_CI3_CHECKED` is derived from.
fn credentials(settings: &Settings) -> (Option<String>, String) {
    if let Some(token) = var(settings, "CI3_SERVER_TOKEN").filter(|t| !t.is_empty()) {
        return (Some(format!("Bearer {token}")), token);
    }
    match var(settings, "CI3_PASSWORD").filter(|p| !p.is_empty()) {
        Some(password) => {
            let user = var(settings, "CI3_USER").unwrap_or_else(|| "aztec".into());
            (Some(basic(&user, &password)), password)
        }
        None => (None, String::new()),
    }
}

/// `_CI3_CHECKED`: SHA-256 of the server, a NUL and the password, in hex.
pub fn checked_mark(server: &str, secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(server.as_bytes());
    hash.update([0]);
    hash.update(secret.as_bytes());
    hex::encode(hash.finalize())
}

/// The check: `/health` says `ci3-server`, then `POST /kv/mget` of `ci3-preflight` answers 200.
pub fn check(remote: &Remote) -> Result<()> {
    let wait = Duration::from_secs(10);
    let health = remote.call("GET", "/health", Body::Empty, &[], wait)?;
    if health.status != 200 || health.body != b"ci3-server" {
        return Err(Error::new(
            Kind::Unreachable,
            format!(
                "{} is no ci3 server (GET /health: {})",
                remote.base, health.status
            ),
        ));
    }
    let body = Body::Bytes(b"ci3-preflight\n".to_vec());
    let preflight = remote.call("POST", "/kv/mget", body, &[], wait)?;
    match preflight.status {
        200 => Ok(()),
        401 | 403 => Err(Error::new(
            Kind::Denied,
            format!(
                "{} refused the credentials (HTTP {}): check CI3_PASSWORD",
                remote.base, preflight.status
            ),
        )),
        s => Err(Error::new(
            Kind::Store,
            format!("{}: the preflight POST /kv/mget answered {s}", remote.base),
        )),
    }
}

/// The backend these settings choose. `always_check` probes even when `_CI3_CHECKED` says a
/// check passed (`ci3_client check`).
pub fn connect(
    settings: &Settings,
    reporter: Arc<dyn Reporter>,
    always_check: bool,
) -> Result<Resolved> {
    let ci = settings.ci;
    let named = named_server(settings);
    let public = var(settings, "CI3_PUBLIC_URL").filter(|u| !u.is_empty());
    let resolved = |backend, server: String, checked| Resolved {
        backend,
        public_url: public.clone().unwrap_or_else(|| server.clone()),
        server,
        checked,
        ci,
    };
    match named.as_deref() {
        Some(url) if !url.is_empty() => {
            let server = server_url(url, "CI3_SERVER")?;
            let (authorization, secret) = credentials(settings);
            if ci && authorization.is_none() {
                return Err(Error::config(
                    "CI=1 needs CI3_PASSWORD (or CI3_SERVER_TOKEN) for the ci3 server",
                ));
            }
            let remote = Remote::new(&server, authorization)?;
            let mark = checked_mark(&server, &secret);
            let remembered = var(settings, "_CI3_CHECKED").is_some_and(|m| m == mark);
            if always_check || !remembered {
                check(&remote).map_err(|e| e.context(format!("ci3 server {server}")))?;
            }
            Ok(resolved(Backend::Http(remote), server, Some(mark)))
        }
        _ if ci => Err(Error::config(
            "CI=1 needs CI3_SERVER (the ci3 server) and CI3_PASSWORD",
        )),
        Some(_) => Ok(resolved(Backend::Off, String::new(), None)),
        None if settings.store.url.is_some() || settings.store.bucket.is_some() => {
            let selected = crate::store::open(settings, reporter)?;
            Ok(resolved(
                Backend::Local(selected.store),
                String::new(),
                None,
            ))
        }
        None => {
            let (authorization, secret) = credentials(settings);
            let remote = Remote::new(LOCAL_SERVER, authorization)?;
            match check(&remote) {
                Ok(()) => {
                    let mark = checked_mark(LOCAL_SERVER, &secret);
                    Ok(resolved(
                        Backend::Http(remote),
                        LOCAL_SERVER.into(),
                        Some(mark),
                    ))
                }
                Err(_) => {
                    reporter.note(&format!(
                        "ci3_client: no ci3 server at {LOCAL_SERVER} (CI3_SERVER is unset): \
                         logs and test cache are off"
                    ));
                    Ok(resolved(Backend::Off, String::new(), None))
                }
            }
        }
    }
}
