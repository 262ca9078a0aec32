//! `ci3_server`: upstream ci3's HTTP API (logs, test cache, lists, run records, artifacts) and
//! our `/objects`, served over any store, with all state in the store so that several servers
//! over one bucket serve a team.
//!
//! By concern: `paths` reads a request's path and query (every 400 of the charset), `auth` the
//! credentials, `limits` the sizes refused with 413, `objects` maps routes to object names,
//! `expiry` the header that makes an entry expire and `sweep` what removes expired ones and dead
//! writers' scratch files; `body` brings request bodies to the blocking store, `writes` stores
//! entries, `reads` serves objects back and `reply` builds answers (always with
//! `Content-Length`); `logs`, `kv`, `lists`, `runs` and `artifacts` (with `/objects`, whose
//! parted uploads are `parts`) are the routes, `routes` dispatches to them, `serve` runs the
//! listener and `lifecycle` is `start`, `stop` and `status`.

mod artifacts;
mod auth;
mod body;
mod dashboard;
mod expiry;
mod kv;
mod lifecycle;
mod limits;
mod lists;
mod logs;
mod objects;
mod parts;
mod paths;
mod reads;
mod reply;
mod routes;
mod runs;
mod serve;
mod sweep;
mod writes;

pub mod entries;

use std::path::PathBuf;
use std::sync::Arc;

pub use lifecycle::{start, status, stop, Stopped};
pub use serve::run;

use crate::error::{Error, Result};
use crate::report::Reporter;
use crate::settings::Settings;
use crate::store::{Parted, Store};

/// The port a ci3 server listens on unless told otherwise (upstream's).
pub const DEFAULT_PORT: u16 = 4275;

/// What `ci3_server` is told on its command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub host: String,
    pub port: u16,
    /// `file:///DIR` or `s3://BUCKET/PREFIX`; none: the store the settings select.
    pub store: Option<String>,
    pub password_file: Option<PathBuf>,
    pub user: String,
    pub token_file: Option<PathBuf>,
    /// GET and HEAD need no credentials.
    pub public_reads: bool,
    /// Listening beyond loopback without credentials.
    pub allow_anonymous: bool,
    /// The longest ttl honoured, seconds (longer ones are clamped to it).
    pub max_ttl: u64,
    /// The largest artifact or `/objects` body accepted, bytes.
    pub max_artifact_size: u64,
    /// `GET /artifacts/NAME` answers 302 to a short-lived presigned URL of the store (S3), so
    /// that the bytes bypass the server.
    pub redirect_reads: bool,
    /// Seconds added to the clock that ttls are counted by: tests make time pass with it.
    pub clock_offset: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: DEFAULT_PORT,
            store: None,
            password_file: None,
            user: "aztec".into(),
            token_file: None,
            public_reads: false,
            allow_anonymous: false,
            max_ttl: 365 * 86400,
            max_artifact_size: 10 << 30,
            redirect_reads: false,
            clock_offset: 0,
        }
    }
}

/// `--max-artifact-size`: `10G`, `500M` or bytes.
pub fn size_arg(text: &str) -> Result<u64> {
    let size = crate::store::evict::parse_size(text);
    size.ok_or_else(|| Error::usage(format!("not a size: {text} (like 10G, 500M)")))
}

/// `--max-ttl`: `365d`, `12h` or seconds; in seconds.
pub fn age_arg(text: &str) -> Result<u64> {
    let age = crate::store::evict::parse_age(text).map(|d| d.as_secs().max(1));
    age.ok_or_else(|| Error::usage(format!("not an age: {text} (like 365d, 12h)")))
}

/// What every request handler shares: the store and the rules it is served under.
struct Ctx {
    store: Box<dyn Store>,
    auth: auth::Auth,
    /// The `X-CI3-Server` header: what two starters must agree on to share a server.
    identity: String,
    max_ttl: u64,
    max_artifact_size: u64,
    redirect_reads: bool,
    clock_offset: i64,
    /// The server's log (stderr): failures the clients only see as a status.
    reporter: Arc<dyn Reporter>,
}

impl Ctx {
    /// The store's parted uploads; a store without them cannot take one (a config error).
    fn parted(&self) -> Result<&dyn Parted> {
        self.store.parted().ok_or_else(|| {
            Error::config(format!(
                "{}: no parted uploads in this store",
                self.store.describe()
            ))
        })
    }

    /// The server's Unix time in seconds, by which entries expire.
    fn now(&self) -> u64 {
        crate::clock::now_secs().saturating_add_signed(self.clock_offset)
    }

    /// The same clock in microseconds, which orders list entries.
    fn now_micros(&self) -> u64 {
        crate::clock::now_micros()
            .saturating_add_signed(self.clock_offset.saturating_mul(1_000_000))
    }

    /// 502 for a store failure, its cause said in the server's log.
    fn failed(&self, what: &str, err: &Error) -> reply::Response {
        self.reporter.note(&format!("ci3_server: {what}: {err}"));
        reply::store_failed()
    }

    /// A ttl as asked (`None`: the kind's default), clamped to `--max-ttl`, as an expiry time.
    fn expiry(&self, ttl: Option<u64>) -> Option<u64> {
        ttl.map(|t| self.now().saturating_add(t.min(self.max_ttl)))
    }
}

/// The settings' store, or the one `--store` names, without read-only tiers (a server answers
/// for one store) nor outage breaker.
fn open_store(
    options: &Options,
    settings: &Settings,
    reporter: Arc<dyn Reporter>,
) -> Result<Box<dyn Store>> {
    let mut settings = settings.clone();
    settings.store.read_stores = None;
    if let Some(url) = &options.store {
        settings.store.url = Some(url.clone());
    }
    let selected =
        crate::store::open_for_server(&settings, reporter).map_err(|e| match &options.store {
            Some(url) => Error::config(format!(
                "--store {url}: {}",
                e.message()
                    .strip_prefix(&format!("CI3_STORE={url}: "))
                    .unwrap_or(e.message())
            )),
            None => e,
        })?;
    Ok(selected.store)
}

/// The store and rules of a server with these options, checked: a non-loopback address needs
/// credentials (or `--allow-anonymous`), credential files must be readable and not empty.
fn context(options: &Options, settings: &Settings, reporter: Arc<dyn Reporter>) -> Result<Ctx> {
    let auth = auth::Auth::load(options)?;
    if !auth.configured() && !options.allow_anonymous && !is_loopback(&options.host) {
        return Err(Error::config(format!(
            "--host {}: listening beyond this machine needs --password-file or --token-file \
             (or --allow-anonymous)",
            options.host
        )));
    }
    let store = open_store(options, settings, reporter.clone())?;
    if options.redirect_reads && store.presigned_get("ci3-probe", 1)?.is_none() {
        return Err(Error::config(format!(
            "--redirect-reads: {} cannot hand out download URLs (an S3 store can)",
            store.describe()
        )));
    }
    let described = match store.local_root() {
        Some(root) => format!("file://{}", root.display()),
        None => store.describe().replace(" at ", "@"),
    };
    let identity = format!(
        "ci3-rs/1 store={} auth={} reads={}",
        described.replace(' ', "%20"),
        auth.scheme(),
        if options.public_reads {
            "public"
        } else {
            "auth"
        }
    );
    Ok(Ctx {
        store,
        auth,
        identity,
        max_ttl: options.max_ttl,
        max_artifact_size: options.max_artifact_size,
        redirect_reads: options.redirect_reads,
        clock_offset: options.clock_offset,
        reporter,
    })
}

/// Whether `host` is reachable from this machine only.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
