//! Who may ask: HTTP Basic (`--password-file`, user `--user`), Bearer (`--token-file`), either
//! when both are given, compared in constant time; `/health` is open, and GET/HEAD too under
//! `--public-reads`.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::reply::{self, Response};
use crate::error::{Error, Result};

pub struct Auth {
    /// `Basic` credentials as a client sends them: base64 of `user:password`.
    basic: Option<Vec<u8>>,
    bearer: Option<Vec<u8>>,
    public_reads: bool,
}

impl Auth {
    /// The credentials the options name, read from their files (one line; the newline a
    /// text editor leaves is not part of it).
    pub fn load(options: &super::Options) -> Result<Auth> {
        let password = secret("--password-file", options.password_file.as_deref())?;
        let token = secret("--token-file", options.token_file.as_deref())?;
        Ok(Auth {
            basic: password.map(|p| {
                let mut pair = format!("{}:", options.user).into_bytes();
                pair.extend_from_slice(&p);
                STANDARD.encode(pair).into_bytes()
            }),
            bearer: token,
            public_reads: options.public_reads,
        })
    }

    /// Whether any credential is required.
    pub fn configured(&self) -> bool {
        self.basic.is_some() || self.bearer.is_some()
    }

    /// `none`, `basic`, `bearer` or `basic+bearer`, for the identity header.
    pub fn scheme(&self) -> &'static str {
        match (self.basic.is_some(), self.bearer.is_some()) {
            (false, false) => "none",
            (true, false) => "basic",
            (false, true) => "bearer",
            (true, true) => "basic+bearer",
        }
    }

    /// Whether a request with this method and `Authorization` header may go on.
    pub fn allows(&self, method: &str, authorization: Option<&[u8]>) -> bool {
        if !self.configured() || (self.public_reads && (method == "GET" || method == "HEAD")) {
            return true;
        }
        let Some(header) = authorization else {
            return false;
        };
        let given = |scheme: &[u8]| {
            let n = scheme.len();
            (header.len() > n && header[..n].eq_ignore_ascii_case(scheme))
                .then(|| header[n..].trim_ascii())
        };
        let basic = match (&self.basic, given(b"Basic ")) {
            (Some(want), Some(got)) => same(want, got),
            _ => false,
        };
        let bearer = match (&self.bearer, given(b"Bearer ")) {
            (Some(want), Some(got)) => same(want, got),
            _ => false,
        };
        basic | bearer
    }

    /// The 401 that refuses a request its method and `Authorization` do not admit, `None` when
    /// they do: one refusal, so the API and the dashboard challenge a client alike.
    pub fn refusal(&self, parts: &http::request::Parts) -> Option<Response> {
        let authorization = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if self.allows(parts.method.as_str(), authorization) {
            return None;
        }
        let refused = reply::text(401, "credentials required\n");
        Some(reply::header(refused, "www-authenticate", self.challenge()))
    }

    /// The `WWW-Authenticate` of a 401: Basic when Basic is on (what browsers and upstream's
    /// client answer), else Bearer.
    fn challenge(&self) -> &'static str {
        if self.basic.is_some() {
            "Basic realm=\"ci3\""
        } else {
            "Bearer realm=\"ci3\""
        }
    }
}

/// The one line of a credential file; a missing, unreadable or empty one is a configuration
/// that cannot be right (the message names the file, never its content).
fn secret(flag: &str, path: Option<&Path>) -> Result<Option<Vec<u8>>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read(path)
        .map_err(|e| Error::config(format!("{flag} {}: {e}", path.display())))?;
    let line = text.strip_suffix(b"\n").unwrap_or(&text);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() || line.contains(&b'\n') {
        return Err(Error::config(format!(
            "{flag} {}: the file must hold one non-empty line",
            path.display()
        )));
    }
    Ok(Some(line.to_vec()))
}

/// Equality whose time does not depend on where the inputs differ: a guesser learns nothing
/// from how long a refusal took (only the length, which a secret's file does not hide anyway).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_rfc_4648_says() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("aztec:secret", "YXp0ZWM6c2VjcmV0"),
        ] {
            assert_eq!(STANDARD.encode(plain), encoded);
        }
    }

    #[test]
    fn who_may_ask() {
        let auth = Auth {
            basic: Some(b"YXp0ZWM6c2VjcmV0".to_vec()),
            bearer: Some(b"tok".to_vec()),
            public_reads: true,
        };
        assert!(auth.allows("PUT", Some(b"Basic YXp0ZWM6c2VjcmV0")));
        assert!(auth.allows("PUT", Some(b"basic YXp0ZWM6c2VjcmV0")));
        assert!(auth.allows("PUT", Some(b"Bearer tok")));
        assert!(!auth.allows("PUT", Some(b"Bearer tok2")));
        assert!(!auth.allows("PUT", Some(b"Basic dG9rOg==")));
        assert!(!auth.allows("POST", None));
        assert!(auth.allows("GET", None));
        assert_eq!(auth.scheme(), "basic+bearer");
    }
}
