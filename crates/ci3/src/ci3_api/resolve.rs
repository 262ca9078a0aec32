//! Which server a process talks to (§2.1): an explicit `CI3_SERVER` (or `CI3_STORE=ci3+http://`)
//! must answer `/health` and take the credentials (a pass remembered in `_CI3_CHECKED`); unset
//! outside CI, a configured store is used in-process, else `localhost:4275` is tried; empty
//! outside CI, nothing. CI needs a server and credentials.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Backend, ARTIFACT_WAIT};
use crate::error::{Error, Kind, Result};
use crate::remote::{Connection, Target};
use crate::report::Reporter;
use crate::settings::Settings;

/// Where a server is looked for when none is named (upstream's port).
pub const LOCAL_SERVER: &str = "http://localhost:4275";

/// How long the check may take, as upstream's probe.
const CHECK_WAIT: Duration = Duration::from_secs(10);

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

/// The secret `_CI3_CHECKED` is derived from: the token, else the password (what the
/// connection's `Authorization` is made of).
fn secret(settings: &Settings) -> &str {
    let vars = &settings.server;
    vars.token
        .as_deref()
        .or(vars.password.as_deref())
        .unwrap_or("")
}

/// `_CI3_CHECKED`: SHA-256 of the server, a NUL and the password, in hex.
pub fn checked_mark(server: &str, secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(server.as_bytes());
    hash.update([0]);
    hash.update(secret.as_bytes());
    hex::encode(hash.finalize())
}

/// A connection to `target` for the API's calls. Each call sets its own limit (upstream's: 30 s,
/// a final log 300 s, artifacts 600 s), so no idle limit may cut one shorter; a request
/// without one (the check) ends within 10 s.
fn open(target: Target) -> Result<Connection> {
    Connection::new(target, ARTIFACT_WAIT, CHECK_WAIT)
}

/// The check (§2.1): `/health` says `ci3-server`, then the preflight answers 200. Refused
/// credentials fail every command (exit 1), as upstream's client: the store's exit 2 is for
/// tools that would otherwise run without their cache.
pub fn check(conn: &Connection) -> Result<()> {
    match conn.check() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == Kind::Config => Err(e.with_kind(Kind::Denied)),
        Err(e) => Err(e),
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
            let named_by = match settings.store.url.as_deref() {
                Some(store) if store.starts_with("ci3+") => "CI3_STORE",
                _ => "CI3_SERVER",
            };
            let target = Target::named(settings, named_by, url)?;
            if ci && !target.has_credentials() {
                return Err(Error::config(
                    "CI=1 needs CI3_PASSWORD (or CI3_SERVER_TOKEN) for the ci3 server",
                ));
            }
            let server = target.base.clone();
            let conn = open(target)?;
            let mark = checked_mark(&server, secret(settings));
            let remembered = var(settings, "_CI3_CHECKED").is_some_and(|m| m == mark);
            if always_check || !remembered {
                check(&conn).map_err(|e| e.context(format!("ci3 server {server}")))?;
            }
            Ok(resolved(Backend::Http(Arc::new(conn)), server, Some(mark)))
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
            let target = Target::named(settings, "CI3_SERVER", LOCAL_SERVER)?;
            // Nobody listening means no server here, not one restarting: ask once.
            let conn = open(target)?.single_try();
            match check(&conn) {
                Ok(()) => {
                    let mark = checked_mark(LOCAL_SERVER, secret(settings));
                    Ok(resolved(
                        Backend::Http(Arc::new(conn)),
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
