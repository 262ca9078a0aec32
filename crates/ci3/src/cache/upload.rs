//! `cache_upload NAME PATH...`: archive the paths into the local cache and the store, in the
//! original scripts' decision order. Only a missing input path is an error: a build never fails
//! because the cache is unavailable.

use std::path::{Path, PathBuf};

use super::policy::{self, UploadSkip, WritePolicy};
use super::Context;
use crate::archive::{self, ArchiveError, Compression};
use crate::error::{Error, Kind, Result};
use crate::hash::manifest;
use crate::ledger;
use crate::store::{Layered, Put, Reach};

/// What an upload came to.
#[derive(Debug)]
pub enum Uploaded {
    /// Nothing was archived (the reason was reported).
    Skipped,
    /// Archived, and the store has it now.
    Stored,
    /// Archived into the local cache only (the store was skipped, or already had it).
    LocalOnly,
    /// The store could not take it, or the outputs could not be archived safely.
    Failed(Error),
}

/// Uploads `paths` (relative to `cwd`) as artifact `name`. `Err` only for a usage error (a bad
/// name, a missing input path).
pub fn upload(ctx: &Context<'_>, name: &str, paths: &[PathBuf], cwd: &Path) -> Result<Uploaded> {
    let started = std::time::Instant::now();
    let uploaded = upload_once(ctx, name, paths, cwd)?;
    let op = match &uploaded {
        Uploaded::Skipped => return Ok(uploaded),
        Uploaded::Stored => ledger::Op::Stored,
        Uploaded::LocalOnly => ledger::Op::LocalOnly,
        Uploaded::Failed(_) => ledger::Op::UploadFailed,
    };
    ledger::append_shared(ctx.settings, ctx.selected, op, name, started);
    Ok(uploaded)
}

fn upload_once(ctx: &Context<'_>, name: &str, paths: &[PathBuf], cwd: &Path) -> Result<Uploaded> {
    let say = |line: String| ctx.reporter.note(&line);
    match policy::upload_skip(ctx.settings, name) {
        Some(UploadSkip::Sentinel) => {
            say(format!(
                "Skipping upload of {name} due to uncommitted changes/files."
            ));
            return Ok(Uploaded::Skipped);
        }
        Some(UploadSkip::NoCacheUpload) => {
            say(format!(
                "Skipping upload of {name} because NO_CACHE_UPLOAD=1."
            ));
            return Ok(Uploaded::Skipped);
        }
        None => {}
    }
    crate::store::check_name(name)?;
    let store = ctx.selected.store.as_ref();
    // The policy of this write: `None` when nothing goes to the store.
    let remote = match policy::write_policy(ctx.settings, ctx.selected) {
        WritePolicy::NotInCi => {
            say(format!(
                "Skipping S3 upload because CI=0 and S3_FORCE_UPLOAD not set. \
                 Nothing goes to {} from here; set S3_FORCE_UPLOAD=1 to upload.",
                store.describe()
            ));
            None
        }
        WritePolicy::NoCredentials => {
            say("Skipping S3 upload, no AWS credentials found.".into());
            None
        }
        WritePolicy::Replace => Some(WritePolicy::Replace),
        WritePolicy::Create => match store.exists(name) {
            Ok(true) if replaces_untrusted(ctx, name) => Some(WritePolicy::Replace),
            Ok(true) => {
                say(already_exists(ctx, name));
                None
            }
            Ok(false) => Some(WritePolicy::Create),
            Err(err) => {
                say(format!(
                    "Skipping upload of {name} to {}: {err}",
                    store.describe()
                ));
                None
            }
        },
    };
    let local = ctx.local_cache(|dir| {
        format!(
            "Warning: Cannot create local cache dir {} or save into it, skipping local cache.",
            dir.display()
        )
    });
    if remote.is_none() && local.is_none() {
        if ctx.selected.reach == Reach::Shared {
            say("Skipping upload: no S3 upload to do and no CACHE_LOCAL_DIR to save into.".into());
        }
        return Ok(Uploaded::Skipped);
    }

    let layered = Layered::new(local, remote.map(|_| store), ctx.reporter);
    let compression = Compression::for_name(name);
    let trust = &ctx.selected.trust;
    let seal = |digest: &archive::Digest, covered: u64| trust.seal_artifact(name, digest, covered);
    let create_only = remote.is_none_or(WritePolicy::create_only);
    let written = layered.write(name, create_only, |out| {
        archive::pack_sealed(paths, cwd, compression, out, &seal).map_err(|err| {
            match archive::archive_error(&err) {
                // The caller named a path that is not there: its mistake, not the cache's.
                Some(ArchiveError::MissingInput(_)) => Error::usage(err.to_string()),
                _ => err,
            }
        })
    });
    let written = match written {
        Ok(written) => written,
        Err(err) if err.kind() == Kind::Usage => return Err(err),
        // Outputs that cannot be archived safely (a symlink out of the tree, say) are not
        // cached, but the build that made them did not fail.
        Err(err) => return Ok(Uploaded::Failed(err)),
    };
    Ok(match written.remote {
        None => Uploaded::LocalOnly,
        Some(Ok(Put::Created)) => {
            let manifests = manifest::local_dir(ctx.settings);
            if let Err(err) = manifest::upload_for(name, store, &ctx.selected.trust, &manifests) {
                say(format!(
                    "Warning: could not store the input manifest of {name}: {err}"
                ));
            }
            Uploaded::Stored
        }
        Some(Ok(Put::AlreadyExists)) => {
            say(already_exists(ctx, name));
            Uploaded::LocalOnly
        }
        Some(Err(err)) => Uploaded::Failed(err),
    })
}

/// The note for an upload the store already has: the spec's phrase for S3 (scripts grep it), and
/// the original's S3-era words without "S3" for a directory store, which is no S3.
fn already_exists(ctx: &Context<'_>, name: &str) -> String {
    match ctx.selected.reach {
        Reach::Shared => format!("Skipping S3 upload, already exists: {name}"),
        Reach::Machine => format!("Skipping upload, already exists: {name}"),
    }
}

/// Whether a signing writer that checks signatures should overwrite the object already under
/// `name`: it is not signed by a trusted key, so every checking reader refuses it, and keeping
/// it (create-only) would make them rebuild forever. Reading it whole costs a download, only
/// when the name is taken, which after a refused download is the usual case.
fn replaces_untrusted(ctx: &Context<'_>, name: &str) -> bool {
    let trust = &ctx.selected.trust;
    if trust.signer().is_none() || !trust.checks() {
        return false;
    }
    match super::verify(ctx, name) {
        Ok(Some(signed)) if !signed.trusted() => {
            ctx.reporter.note(&format!(
                "Replacing {name} in {}: it is {}.",
                ctx.selected.store.describe(),
                signed.describe()
            ));
            true
        }
        // A corrupt object is as useless to readers as an untrusted one.
        Err(err) if err.kind() == Kind::Corrupt => true,
        _ => false,
    }
}
