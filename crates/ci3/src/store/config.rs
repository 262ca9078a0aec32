//! Which store the environment selects (spec: ci3-tools.md section 5).

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::{s3, DirStore, PublicStore, S3Store, Store};
use crate::env::non_empty;

/// The configured store and whether it is the embedded default.
pub struct Selected {
    pub store: Box<dyn Store>,
    /// True for a directory store (configured or default): uploads go there even at `CI=0`.
    pub is_dir: bool,
}

/// S3 settings read from the environment.
pub struct S3Settings {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: String,
}

/// The store the environment configures, highest precedence first: `CI3_STORE`, then S3 when
/// `CI3_S3_BUCKET` or `S3_BUILD_CACHE_AWS_PARAMS` is set (read through `CI3_PUBLIC_URL` when
/// there are no credentials), then `CI3_PUBLIC_URL` alone, else `$XDG_CACHE_HOME/ci3/store`.
pub fn from_env() -> Result<Selected> {
    let compat_params = non_empty("S3_BUILD_CACHE_AWS_PARAMS");
    let aws_words: Vec<String> = compat_params
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let aws_flag = |flag: &str| {
        aws_words.iter().enumerate().find_map(|(i, w)| {
            w.strip_prefix(&format!("{flag}="))
                .map(String::from)
                .or_else(|| (w == flag).then(|| aws_words.get(i + 1).cloned()).flatten())
        })
    };
    let region = aws_flag("--region")
        .or_else(|| non_empty("AWS_REGION"))
        .or_else(|| non_empty("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let endpoint = non_empty("CI3_S3_ENDPOINT").or_else(|| aws_flag("--endpoint-url"));

    if let Some(url) = non_empty("CI3_STORE") {
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                bail!("CI3_STORE={url}: a file:// store needs an absolute path (file:///abs/dir)");
            }
            return Ok(Selected {
                store: Box::new(DirStore::new(PathBuf::from(path))),
                is_dir: true,
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                bail!("CI3_STORE={url}: no bucket (use s3://BUCKET/PREFIX)");
            }
            let mut prefix = prefix.to_string();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            let settings = S3Settings {
                bucket: bucket.into(),
                prefix,
                endpoint,
                region,
            };
            return s3_or_public(settings);
        }
        bail!("CI3_STORE={url}: unsupported store URL (use file:///abs/dir or s3://BUCKET/PREFIX)");
    }

    let bucket = non_empty("CI3_S3_BUCKET");
    if bucket.is_some() || compat_params.is_some() {
        let settings = S3Settings {
            // The original scripts' bucket, only when their variable is what selected S3.
            bucket: bucket.unwrap_or_else(|| "aztec-ci-artifacts".into()),
            prefix: default_prefix(),
            endpoint,
            region,
        };
        return s3_or_public(settings);
    }

    if let Some(url) = non_empty("CI3_PUBLIC_URL") {
        return public(&url, &default_prefix());
    }

    let dir = default_dir();
    if crate::env::ci() {
        eprintln!("Note: no store configured; using the directory store {} (not shared between machines).", dir.display());
    }
    Ok(Selected {
        store: Box::new(DirStore::new(dir)),
        is_dir: true,
    })
}

/// S3 with credentials; without any, the public read endpoint when `CI3_PUBLIC_URL` gives one
/// (as the original scripts fell back to `curl` from the bucket's public address).
fn s3_or_public(settings: S3Settings) -> Result<Selected> {
    if let (false, Some(url)) = (s3::has_credentials(), non_empty("CI3_PUBLIC_URL")) {
        return public(&url, &settings.prefix);
    }
    Ok(Selected {
        store: Box::new(S3Store::new(settings)?),
        is_dir: false,
    })
}

fn public(url: &str, prefix: &str) -> Result<Selected> {
    Ok(Selected {
        store: Box::new(PublicStore::new(url, prefix)?),
        is_dir: false,
    })
}

/// `CI3_S3_PREFIX`, else the original scripts' `build-cache/`.
fn default_prefix() -> String {
    std::env::var("CI3_S3_PREFIX").unwrap_or_else(|_| "build-cache/".into())
}

/// `$XDG_CACHE_HOME/ci3/store`, else `~/.cache/ci3/store`.
fn default_dir() -> PathBuf {
    crate::env::cache_home().join("store")
}
