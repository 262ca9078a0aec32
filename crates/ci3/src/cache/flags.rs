//! Success flags: `NAME.flag` objects recording that a test or deploy passed.
//!
//! With `CI3_SIGNING_KEY` a flag's body ends in a signature line; with `CI3_TRUSTED_KEYS` only a
//! flag a trusted key signed counts as passed (the body is read, not only its existence).

use super::policy;
use super::Context;
use crate::error::{Error, Kind, Result};
use crate::store::names;

/// What `upload_flag` did.
#[derive(Debug)]
pub enum FlagUpload {
    /// Not recorded: the name carries the sentinel.
    Sentinel,
    /// Not recorded: flags are only written in CI.
    NotInCi,
    Recorded,
    /// The store refused or could not be reached; the build goes on.
    Failed(Error),
}

/// `cache_upload_flag NAME`: records success in CI, with what passed (run URL, host, time,
/// commit) as the body.
pub fn upload_flag(ctx: &Context<'_>, name: &str, commit: Option<&str>) -> Result<FlagUpload> {
    if policy::is_disabled(name) {
        return Ok(FlagUpload::Sentinel);
    }
    let object = names::flag(name)?;
    if !policy::counts_passes(ctx.settings) {
        return Ok(FlagUpload::NotInCi);
    }
    let body = format!(
        "run: {}\nhost: {}\ntime: {}\ncommit: {}\n",
        ctx.settings.run_url.as_deref().unwrap_or("(none)"),
        hostname(ctx.settings),
        crate::clock::now_secs(),
        commit.unwrap_or("(unknown)"),
    );
    let stored = ctx.selected.trust.sign_bytes(&object, body.as_bytes());
    Ok(
        match ctx.selected.store.put_bytes(&object, &stored, false) {
            Ok(_) => FlagUpload::Recorded,
            Err(err) => FlagUpload::Failed(err),
        },
    )
}

/// `cache_download_flag NAME...`: whether every flag exists (so a deploy step can require all
/// projects' flags at once). A store that cannot be asked is an error, never a yes.
pub fn download_flags(ctx: &Context<'_>, names: &[String]) -> Result<bool> {
    if names
        .iter()
        .any(|name| policy::read_skip(ctx.settings, name).is_some())
    {
        return Ok(false);
    }
    for name in names {
        let object = names::flag(name)?;
        if !ctx.selected.trust.checks() {
            if !ctx.selected.store.exists(&object)? {
                return Ok(false);
            }
            continue;
        }
        let mut stored = Vec::new();
        if !ctx.selected.store.get(&object, &mut stored)? {
            return Ok(false);
        }
        if let Err(err) = ctx.selected.trust.verify_bytes(&object, &stored) {
            ctx.reporter
                .note(&format!("Not counting test flag {name}: {err}"));
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a test runs here and now, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShouldRun {
    /// Not in CI: a local run runs every test (flags are only written in CI, so a local pass
    /// proves nothing to a later run anyway).
    NotInCi,
    /// In CI and its flag exists: it already passed.
    AlreadyPassed,
    /// In CI and no flag yet.
    NoFlag,
    /// In CI, but the store could not say; running is the safe answer.
    Unknown(Kind),
}

impl ShouldRun {
    /// Skip only what is known to have passed.
    pub fn runs(self) -> bool {
        self != ShouldRun::AlreadyPassed
    }
}

/// `test_should_run NAME`: skip only when `CI=1` and the flag `NAME.flag` exists.
pub fn test_should_run(ctx: &Context<'_>, name: &str) -> Result<ShouldRun> {
    if !policy::counts_passes(ctx.settings) {
        return Ok(ShouldRun::NotInCi);
    }
    Ok(match download_flags(ctx, &[name.to_string()]) {
        Ok(true) => ShouldRun::AlreadyPassed,
        Ok(false) => ShouldRun::NoFlag,
        Err(err) => {
            ctx.reporter
                .note(&format!("Cannot check test flag {name}: {err}"));
            ShouldRun::Unknown(err.kind())
        }
    })
}

pub(super) fn hostname(settings: &crate::settings::Settings) -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .or_else(|| settings.hostname.clone())
        .unwrap_or_else(|| "(unknown)".into())
}
