//! Which store the settings select, and the one-line refusal of a configuration that cannot be
//! right (an unknown scheme, a relative path, a bucket S3 would refuse, an endpoint that is no URL).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::evict::{self, Caps};
use super::{Breaker, DirStore, PublicStore, ReadOnly, S3Store, ServerStore, Store, Tiered};
use crate::error::{Error, Kind, Result};
use crate::remote::Connection;
use crate::report::Reporter;
use crate::settings::{Settings, StoreVars};
use crate::trust::Trust;

/// Whose store it is, which the write policy (`cache::policy`) asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A directory store (configured or the default): every run writes it, even at `CI=0`.
    Machine,
    /// A remote store many machines read: only CI (or `S3_FORCE_UPLOAD`) fills it.
    Shared,
}

/// The configured store and what the write policy needs to know of it.
pub struct Selected {
    pub store: Box<dyn Store>,
    pub reach: Reach,
    /// The size and age caps of the directory store and the local cache.
    pub caps: Caps,
    /// What writers sign with and readers accept (`CI3_SIGNING_KEY`, `CI3_TRUSTED_KEYS`).
    pub trust: Trust,
    /// The ci3 server, exactly when the store is one (`CI3_STORE=ci3+http(s)://`, or
    /// `CI3_SERVER`): the test cache and logs then go through its API (`remote`).
    pub server: Option<Arc<Connection>>,
}

/// Where an S3 store is and how long its requests may take.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub keys: Option<S3Keys>,
    /// The profile of the shared credentials file, when no keys are given.
    pub profile: Option<String>,
    /// With no byte for this long a request fails (`CI3_S3_TIMEOUT`).
    pub request_timeout: Duration,
    pub transfer_timeout: Duration,
    /// Where in-flight multipart uploads are recorded (`$XDG_CACHE_HOME/ci3/multipart`).
    pub journal: Option<PathBuf>,
}

impl S3Settings {
    /// A bucket at a custom endpoint with explicit keys and the default timeouts: what tests and
    /// tools that talk to a known server need.
    pub fn at(
        endpoint: &str,
        bucket: &str,
        prefix: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Self {
        S3Settings {
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint: Some(endpoint.into()),
            region: "us-east-1".into(),
            keys: Some(S3Keys {
                access_key: access_key.into(),
                secret_key: secret_key.into(),
                session_token: None,
            }),
            profile: None,
            request_timeout: Duration::from_secs(30),
            transfer_timeout: Duration::from_secs(3600),
            journal: None,
        }
    }
}

#[derive(Clone)]
pub struct S3Keys {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a secret in a message or a log.
        write!(f, "S3Keys({})", self.access_key)
    }
}

/// The store the settings configure, highest precedence first: `CI3_STORE`, then S3 when
/// `CI3_S3_BUCKET` or `S3_BUILD_CACHE_AWS_PARAMS` is set (read through `CI3_PUBLIC_CACHE_URL`
/// when there are no credentials), then `CI3_PUBLIC_CACHE_URL` alone, else the directory store
/// `$XDG_CACHE_HOME/ci3/store`. `reporter` hears the stores' retry notices.
pub fn open(settings: &Settings, reporter: Arc<dyn Reporter>) -> Result<Selected> {
    let trust = Trust::from_vars(&settings.trust)?;
    let mut selected = open_store(settings, reporter.clone(), true)?;
    selected.trust = trust;
    if let Some(list) = &settings.store.read_stores {
        let mut readers = Vec::new();
        for url in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|u| !u.is_empty())
        {
            let mut one = settings.clone();
            one.store.url = Some(url.to_string());
            one.server.url = None;
            let opened = open_store(&one, reporter.clone(), true).map_err(|e| {
                Error::config(format!(
                    "CI3_READ_STORES={list}: {}",
                    e.message()
                        .strip_prefix("CI3_STORE=")
                        .unwrap_or(e.message())
                ))
            })?;
            readers.push(ReadOnly::new(opened.store));
        }
        selected.store = Box::new(Tiered::new(selected.store, readers));
    }
    Ok(selected)
}

/// The one store the settings select, for a server: no read-only tiers, and no outage breaker,
/// whose shared state would turn one failed request (a create-only race, say) into 30 s of
/// refusals for every client; each request of a server asks the store itself.
pub fn open_for_server(settings: &Settings, reporter: Arc<dyn Reporter>) -> Result<Selected> {
    // A server over a server (or over itself, through the caller's CI3_SERVER) is no store.
    let mut settings = settings.clone();
    settings.server.url = None;
    if let Some(url) = settings
        .store
        .url
        .as_deref()
        .filter(|u| u.starts_with("ci3+"))
    {
        return Err(Error::config(format!(
            "CI3_STORE={url}: a ci3 server keeps its objects in a file:// or s3:// store"
        )));
    }
    open_store(&settings, reporter, false)
}

/// The one store the settings select (`CI3_STORE` and the rest), without the read-only tiers;
/// a remote one behind the outage breaker when `guarded`.
fn open_store(settings: &Settings, reporter: Arc<dyn Reporter>, guarded: bool) -> Result<Selected> {
    if let Some(conn) = Connection::open(settings)? {
        return server_store(settings, conn, reporter, guarded);
    }
    let vars = &settings.store;
    let aws_words: Vec<&str> = vars
        .aws_params
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let aws_flag = |flag: &str| {
        aws_words.iter().enumerate().find_map(|(i, w)| {
            w.strip_prefix(&format!("{flag}="))
                .map(String::from)
                .or_else(|| {
                    (*w == flag)
                        .then(|| aws_words.get(i + 1).map(|s| s.to_string()))
                        .flatten()
                })
        })
    };
    let region = aws_flag("--region")
        .or_else(|| vars.region.clone())
        .unwrap_or_else(|| "us-east-1".into());
    let endpoint = match (&vars.endpoint, aws_flag("--endpoint-url")) {
        (Some(url), _) => Some(check_url("CI3_S3_ENDPOINT", url)?),
        (None, Some(url)) => Some(check_url("S3_BUILD_CACHE_AWS_PARAMS", &url)?),
        (None, None) => None,
    };
    let public = match &vars.public_url {
        Some(url) => Some(check_url("CI3_PUBLIC_CACHE_URL", url)?),
        None => None,
    };
    let caps = Caps {
        ledgers: Some(settings.state().usage()),
        ..caps(vars)?
    };
    let remote = Remote {
        guarded,
        reporter: reporter.clone(),
        breakers: settings.state().breakers(),
        offline: vars.offline,
        caps: caps.clone(),
    };
    let s3 = |bucket: String, prefix: String| S3Settings {
        bucket,
        prefix,
        endpoint: endpoint.clone(),
        region: region.clone(),
        keys: keys(vars),
        profile: vars.profile.clone(),
        request_timeout: vars.request_timeout,
        transfer_timeout: vars.transfer_timeout,
        journal: Some(settings.state().multipart()),
    };

    if let Some(url) = &vars.url {
        let bad = |why: &str| Error::config(format!("CI3_STORE={url}: {why}"));
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(bad(
                    "a file:// store needs an absolute path (file:///abs/dir)",
                ));
            }
            return Ok(Selected {
                store: Box::new(DirStore::new(PathBuf::from(path)).with_caps(caps.clone())),
                reach: Reach::Machine,
                caps,
                trust: Trust::default(),
                server: None,
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if let Some(why) = bucket_problem(bucket) {
                return Err(bad(&why));
            }
            let mut prefix = prefix.to_string();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            return s3_or_public(s3(bucket.into(), prefix), public.as_deref(), &remote);
        }
        return Err(bad(
            "unsupported store URL (use file:///abs/dir or s3://BUCKET/PREFIX)",
        ));
    }

    if vars.bucket.is_some() || vars.aws_params.is_some() {
        // The original scripts' bucket, only when their variable is what selected S3.
        let bucket = vars
            .bucket
            .clone()
            .unwrap_or_else(|| "aztec-ci-artifacts".into());
        if let Some(why) = bucket_problem(&bucket) {
            return Err(Error::config(format!("CI3_S3_BUCKET={bucket}: {why}")));
        }
        let settings = s3(bucket, default_prefix(vars));
        return s3_or_public(settings, public.as_deref(), &remote);
    }

    if let Some(url) = public {
        let timeouts = (vars.request_timeout, vars.transfer_timeout);
        return public_store(&url, &default_prefix(vars), timeouts, &remote);
    }

    let dir = settings.state().store();
    if settings.ci {
        reporter.note(&format!(
            "Note: no store configured; using the directory store {} (not shared between machines).",
            dir.display()
        ));
    }
    Ok(Selected {
        store: Box::new(DirStore::new(dir).with_caps(caps.clone())),
        reach: Reach::Machine,
        caps,
        trust: Trust::default(),
        server: None,
    })
}

/// A ci3 server as the store. Nothing else is asked: not the directory store, not the S3
/// variables, not `localhost:4275` (no silent fallback). In CI the credentials are proven
/// first, so a refused password stops the run (exit 2) before any work; a server that is down
/// is the breaker's business, as for any remote store.
fn server_store(
    settings: &Settings,
    conn: Arc<Connection>,
    reporter: Arc<dyn Reporter>,
    guarded: bool,
) -> Result<Selected> {
    let vars = &settings.store;
    if settings.ci && !vars.offline {
        if let Err(e) = conn.check() {
            if e.kind() == Kind::Config {
                return Err(e);
            }
        }
    }
    let public = match &vars.public_url {
        Some(url) => {
            let url = check_url("CI3_PUBLIC_CACHE_URL", url)?;
            let timeouts = (vars.request_timeout, vars.transfer_timeout);
            Some(PublicStore::new(
                &url,
                &default_prefix(vars),
                timeouts,
                reporter.clone(),
            )?)
        }
        None => None,
    };
    let caps = caps(vars)?;
    let remote = Remote {
        guarded,
        reporter: reporter.clone(),
        breakers: settings.state().breakers(),
        offline: vars.offline,
        caps,
    };
    let store = Box::new(ServerStore::new(conn.clone(), public, reporter));
    let mut selected = remote.select(store);
    // Uploads at any CI value, as upstream's scripts upload to their server.
    selected.reach = Reach::Machine;
    selected.server = Some(conn);
    Ok(selected)
}

/// `CI3_CACHE_MAX_SIZE` and `CI3_CACHE_MAX_AGE`, refused when they cannot be read.
fn caps(vars: &StoreVars) -> Result<Caps> {
    let max_size = match &vars.max_size {
        Some(text) => Some(evict::parse_size(text).ok_or_else(|| {
            Error::config(format!(
                "CI3_CACHE_MAX_SIZE={text}: not a size (like 20G, 500M or a number of bytes)"
            ))
        })?),
        None => None,
    };
    let max_age = match &vars.max_age {
        Some(text) => Some(evict::parse_age(text).ok_or_else(|| {
            Error::config(format!(
                "CI3_CACHE_MAX_AGE={text}: not an age (like 30d, 12h, 90m or a number of seconds)"
            ))
        })?),
        None => None,
    };
    Ok(Caps {
        max_size,
        max_age,
        ledgers: None,
    })
}

/// S3 with credentials; without any, the public read endpoint when one is given (as the original
/// scripts fell back to `curl` from the bucket's public address).
fn s3_or_public(settings: S3Settings, public: Option<&str>, remote: &Remote) -> Result<Selected> {
    if let Some(url) = public {
        if !S3Store::has_credentials(&settings) {
            let timeouts = (settings.request_timeout, settings.transfer_timeout);
            return public_store(url, &settings.prefix, timeouts, remote);
        }
    }
    let store = Box::new(S3Store::new(settings, remote.reporter.clone())?);
    Ok(remote.select(store))
}

/// What every remote store is set up with.
struct Remote {
    /// Behind the shared outage breaker.
    guarded: bool,
    reporter: Arc<dyn Reporter>,
    /// Where the shared outage breakers keep their state.
    breakers: PathBuf,
    /// `CI3_OFFLINE`: every breaker stays open.
    offline: bool,
    caps: Caps,
}

impl Remote {
    /// `store` behind the shared outage breaker.
    fn select(&self, store: Box<dyn Store>) -> Selected {
        let store: Box<dyn Store> = match self.guarded {
            true => Box::new(Breaker::new(store, &self.breakers).offline(self.offline)),
            false => store,
        };
        Selected {
            store,
            reach: Reach::Shared,
            caps: self.caps.clone(),
            trust: Trust::default(),
            server: None,
        }
    }
}

fn public_store(
    url: &str,
    prefix: &str,
    timeouts: (Duration, Duration),
    remote: &Remote,
) -> Result<Selected> {
    let store = Box::new(PublicStore::new(
        url,
        prefix,
        timeouts,
        remote.reporter.clone(),
    )?);
    Ok(remote.select(store))
}

fn keys(vars: &StoreVars) -> Option<S3Keys> {
    Some(S3Keys {
        access_key: vars.access_key.clone()?,
        secret_key: vars.secret_key.clone()?,
        session_token: vars.session_token.clone(),
    })
}

/// `CI3_S3_PREFIX`, else the original scripts' `build-cache/`.
fn default_prefix(vars: &StoreVars) -> String {
    vars.prefix.clone().unwrap_or_else(|| "build-cache/".into())
}

/// An `http://` or `https://` URL with a host, without a trailing `/`.
fn check_url(var: &str, url: &str) -> Result<String> {
    let host = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .map(|rest| rest.split('/').next().unwrap_or_default());
    match host {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(url.trim_end_matches('/').to_string())
        }
        _ => Err(Error::config(format!(
            "{var}={url}: not an http:// or https:// URL"
        ))),
    }
}

/// Why S3 would refuse this bucket name, if it would: 3 to 63 lowercase letters, digits, dots
/// and hyphens, starting and ending with a letter or digit.
fn bucket_problem(bucket: &str) -> Option<String> {
    let ok_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if bucket.is_empty() {
        Some("no bucket (use s3://BUCKET/PREFIX)".into())
    } else if !(3..=63).contains(&bucket.len())
        || !ok_chars
        || !ends_ok(bucket.bytes().next())
        || !ends_ok(bucket.bytes().last())
    {
        Some(format!(
            "'{bucket}' is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use crate::report::Silent;

    fn open_with(vars: &[(&str, &str)]) -> Result<Selected> {
        let mut all = vec![("HOME", "/tmp/ci3-config-test")];
        all.extend_from_slice(vars);
        open(&Settings::from_vars(all.iter().copied()), Arc::new(Silent))
    }

    fn refusal(vars: &[(&str, &str)]) -> String {
        let err = open_with(vars).err().expect("refused");
        assert_eq!(err.kind(), Kind::Config);
        err.to_string()
    }

    #[test]
    fn configurations_that_cannot_be_right_name_variable_and_value() {
        assert!(refusal(&[("CI3_STORE", "bogus://x")]).starts_with("CI3_STORE=bogus://x: "));
        assert!(refusal(&[("CI3_STORE", "file://relative/dir")]).contains("absolute path"));
        assert!(refusal(&[("CI3_STORE", "s3://Bad_Bucket/p")]).contains("'Bad_Bucket'"));
        assert!(refusal(&[("CI3_S3_BUCKET", "x")]).starts_with("CI3_S3_BUCKET=x: "));
        assert!(refusal(&[
            ("CI3_S3_BUCKET", "ok-bucket"),
            ("CI3_S3_ENDPOINT", "localhost:9000")
        ])
        .starts_with("CI3_S3_ENDPOINT=localhost:9000: "));
        assert!(
            refusal(&[("S3_BUILD_CACHE_AWS_PARAMS", "--endpoint-url nope")])
                .starts_with("S3_BUILD_CACHE_AWS_PARAMS=nope: ")
        );
        assert!(
            refusal(&[("CI3_PUBLIC_CACHE_URL", "ftp://x")]).starts_with("CI3_PUBLIC_CACHE_URL=")
        );
    }

    #[test]
    fn selection_order() {
        let dir = open_with(&[("CI3_STORE", "file:///srv/cache")]).unwrap();
        assert_eq!(dir.reach, Reach::Machine);
        assert_eq!(dir.store.describe(), "directory /srv/cache");
        let default = open_with(&[]).unwrap();
        assert_eq!(default.reach, Reach::Machine);
        assert!(default
            .store
            .describe()
            .ends_with("/tmp/ci3-config-test/.cache/ci3/store"));
        let s3 = open_with(&[
            (
                "S3_BUILD_CACHE_AWS_PARAMS",
                "--endpoint-url http://127.0.0.1:9 --region eu-west-1",
            ),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ])
        .unwrap();
        assert_eq!(s3.reach, Reach::Shared);
        assert_eq!(
            s3.store.describe(),
            "s3://aztec-ci-artifacts/build-cache/ at http://127.0.0.1:9"
        );
    }

    #[test]
    fn a_server_is_chosen_without_contact_and_an_explicit_store_wins() {
        let server = open_with(&[
            ("CI3_SERVER", "http://127.0.0.1:9"),
            ("CI3_S3_BUCKET", "ignored-bucket"),
        ])
        .unwrap();
        assert_eq!(server.store.describe(), "ci3 server http://127.0.0.1:9");
        assert_eq!(server.reach, Reach::Machine, "uploads at any CI value");
        assert!(server.server.is_some());
        let store = open_with(&[("CI3_STORE", "ci3+https://ci.example/")]).unwrap();
        assert_eq!(store.store.describe(), "ci3 server https://ci.example");
        let dir = open_with(&[
            ("CI3_STORE", "file:///srv/cache"),
            ("CI3_SERVER", "http://127.0.0.1:9"),
        ])
        .unwrap();
        assert!(dir.server.is_none());
        let vars = [("HOME", "/tmp/x"), ("CI3_SERVER", "http://127.0.0.1:9")];
        let for_server = open_for_server(&Settings::from_vars(vars), Arc::new(Silent)).unwrap();
        assert!(
            for_server.server.is_none(),
            "a server never serves a server"
        );
    }
}
