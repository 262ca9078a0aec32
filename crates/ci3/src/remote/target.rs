//! Which ci3 server the settings name (`CI3_STORE=ci3+http(s)://`, else `CI3_SERVER`) and the
//! credentials it is asked with; a URL that cannot be right is refused without echoing a secret.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Url;

use crate::error::{Error, Result};
use crate::settings::Settings;

/// A ci3 server: where it is, which variable named it, and what to authenticate with.
#[derive(Clone)]
pub struct Target {
    /// `http(s)://host[:port]`, no trailing `/`.
    pub base: String,
    /// The variable that chose it, for messages (`CI3_STORE` or `CI3_SERVER`).
    pub var: &'static str,
    /// The `Authorization` header value, if any.
    pub(super) auth: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({} from {})", self.base, self.var)
    }
}

impl Target {
    /// The server the settings choose as the store, `None` when they choose none: `CI3_STORE`
    /// when it is a `ci3+http://` or `ci3+https://` URL; any other `CI3_STORE` wins over
    /// `CI3_SERVER` (an explicit store is kept); else a non-empty `CI3_SERVER` (which wins over
    /// the S3 variables).
    pub fn from_settings(settings: &Settings) -> Result<Option<Target>> {
        let vars = &settings.server;
        let (var, url) = match settings.store.url.as_deref() {
            Some(url) if url.starts_with("ci3+") => ("CI3_STORE", &url["ci3+".len()..]),
            Some(_) => return Ok(None),
            None => match vars.url.as_deref() {
                Some(url) if !url.trim().is_empty() => ("CI3_SERVER", url.trim()),
                _ => return Ok(None),
            },
        };
        Target::named(settings, var, url).map(Some)
    }

    /// The server at `url`, named by `var`, with the credentials the settings hold
    /// (`CI3_SERVER_TOKEN` → Bearer, else `CI3_PASSWORD` → Basic as `CI3_USER`, default `aztec`).
    pub fn named(settings: &Settings, var: &'static str, url: &str) -> Result<Target> {
        let vars = &settings.server;
        let base = check(var, url)?;
        let auth = match (&vars.token, &vars.password) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, Some(password)) => {
                let user = vars.user.as_deref().unwrap_or("aztec");
                let pair = STANDARD.encode(format!("{user}:{password}"));
                Some(format!("Basic {pair}"))
            }
            (None, None) => None,
        };
        Ok(Target { base, var, auth })
    }

    /// A target at `base` (already checked) with no credentials, for tests and tools that were
    /// handed a URL.
    pub fn anonymous(var: &'static str, url: &str) -> Result<Target> {
        Ok(Target {
            base: check(var, url)?,
            var,
            auth: None,
        })
    }

    /// Whether requests carry credentials.
    pub fn has_credentials(&self) -> bool {
        self.auth.is_some()
    }
}

/// `url` as `scheme://host[:port]`, refused (naming `var`) unless it is http or https with a
/// host and nothing else: a user or password belongs in `CI3_PASSWORD`/`CI3_SERVER_TOKEN`, and
/// a query or fragment would be silently dropped from every request.
fn check(var: &str, url: &str) -> Result<String> {
    // The value is repeated only when it cannot hold a secret.
    let shown = match url.contains(['@', '?', '#']) {
        true => var.to_string(),
        false => format!("{var}={url}"),
    };
    let bad = |why: &str| Error::config(format!("{shown}: {why}"));
    let parsed = Url::parse(url).map_err(|_| {
        bad("not a URL (use http://HOST:PORT or https://HOST, or ci3+http:// in CI3_STORE)")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("a ci3 server URL is http:// or https://"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "a ci3 server URL must not hold a user or password (use CI3_PASSWORD or CI3_SERVER_TOKEN)",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("a ci3 server URL has no query or fragment"));
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(bad("no host"));
    };
    if parsed.path() != "/" && !parsed.path().is_empty() {
        return Err(bad("a ci3 server URL has no path (http://HOST:PORT)"));
    }
    Ok(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn target(vars: &[(&str, &str)]) -> Result<Option<Target>> {
        Target::from_settings(&Settings::from_vars(vars.iter().copied()))
    }

    #[test]
    fn store_url_wins_over_server() {
        let t = target(&[
            ("CI3_STORE", "ci3+http://127.0.0.1:9/"),
            ("CI3_SERVER", "http://other:1"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.base.as_str(), t.var),
            ("http://127.0.0.1:9", "CI3_STORE")
        );
        let t = target(&[("CI3_SERVER", "https://ci.example")])
            .unwrap()
            .unwrap();
        assert_eq!(t.base, "https://ci.example");
        assert!(target(&[("CI3_SERVER", "")]).unwrap().is_none());
        assert!(
            target(&[("CI3_STORE", "file:///x"), ("CI3_SERVER", "http://h:1")])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn credentials_token_first_then_basic() {
        let t = target(&[
            ("CI3_SERVER", "http://h:1"),
            ("CI3_PASSWORD", "pw"),
            ("CI3_SERVER_TOKEN", "tok"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(t.auth.as_deref(), Some("Bearer tok"));
        let t = target(&[("CI3_SERVER", "http://h:1"), ("CI3_PASSWORD", "pw")])
            .unwrap()
            .unwrap();
        // base64("aztec:pw")
        assert_eq!(t.auth.as_deref(), Some("Basic YXp0ZWM6cHc="));
    }

    #[test]
    fn bad_urls_are_config_errors_without_the_secret() {
        for (var, url) in [
            ("CI3_SERVER", "http://u:hunter2@h:1"),
            ("CI3_SERVER", "http://h:1/?k=hunter2"),
            ("CI3_SERVER", "http://h:1/#hunter2"),
            ("CI3_STORE", "ci3+http://u:hunter2@h:1"),
            ("CI3_SERVER", "ftp://h"),
            ("CI3_SERVER", "not a url"),
            ("CI3_SERVER", "http://h:1/sub"),
        ] {
            let err = target(&[(var, url)]).unwrap_err();
            assert_eq!(err.kind(), Kind::Config, "{url}");
            assert!(err.message().starts_with(var), "{err}");
            assert!(!err.message().contains("hunter2"), "{err}");
        }
    }
}
