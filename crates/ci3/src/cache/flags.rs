//! Success flags: `NAME.flag` objects recording that a test or deploy passed (section 9).

use anyhow::Result;

use super::is_disabled;
use crate::env::{ci, flag, non_empty};
use crate::store;

/// The object name of flag NAME (compat key layout).
fn object(name: &str) -> String {
    format!("{name}.flag")
}

/// `cache_upload_flag NAME`: records success in CI; never fails the build.
pub fn upload_flag(name: &str) -> Result<i32> {
    if is_disabled(name) {
        eprintln!("Not uploading test flag {name} due to uncommitted changes/files.");
        return Ok(0);
    }
    if !ci() {
        eprintln!("Not uploading test flag {name} because CI=0.");
        return Ok(0);
    }
    let body = format!(
        "run: {}\nhost: {}\ntime: {}\ncommit: {}\n",
        non_empty("GITHUB_RUN_URL").unwrap_or_else(|| "(none)".into()),
        hostname(),
        unix_time(),
        head_commit().unwrap_or_else(|| "(unknown)".into()),
    );
    match store::from_env().and_then(|s| {
        s.store
            .put_bytes(&object(name), body.as_bytes(), false)
            .map_err(Into::into)
    }) {
        Ok(_) => eprintln!("Uploaded test flag {name}."),
        Err(err) => eprintln!(
            "Could not upload test flag {name}: {}",
            crate::cli::one_line(&err)
        ),
    }
    Ok(0)
}

/// `cache_download_flag NAME...`: 0 when every flag exists (so a deploy step can require all
/// projects' flags at once), 1 otherwise.
pub fn download_flags(names: &[String]) -> Result<i32> {
    for name in names {
        if is_disabled(name) || flag("NO_CACHE") {
            return Ok(1);
        }
    }
    let selected = store::from_env()?;
    for name in names {
        match selected.store.exists(&object(name)) {
            Ok(true) => {}
            Ok(false) => return Ok(1),
            Err(err) => {
                eprintln!("Cannot check test flag {name}: {err}");
                return Ok(1);
            }
        }
    }
    Ok(0)
}

/// `test_should_run NAME`: 0 when the test must run here and now.
pub fn test_should_run(name: &str) -> Result<i32> {
    match std::env::var("TEST").as_deref() {
        Ok("0") => return Ok(1),
        Ok("1") => {}
        _ if ci() => {}
        _ => return Ok(1),
    }
    if download_flags(&[name.to_string()])? == 0 {
        eprintln!("Not running {name}: it already passed (flag found).");
        return Ok(1);
    }
    Ok(0)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "(unknown)".into())
}

fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn head_commit() -> Option<String> {
    let repo = gix::discover(".").ok()?;
    Some(repo.head_id().ok()?.to_string())
}
