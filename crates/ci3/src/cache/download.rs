//! `cache_download NAME [OUT_DIR]` and `cache_ls NAME`: an artifact streamed from the local
//! cache or the store into the extractor (or the lister), in the original scripts' decision
//! order. The extractor stages the tree and moves it into OUT_DIR only after the whole stream was
//! read, its digest matched and, with `CI3_TRUSTED_KEYS`, a trusted key sealed it.

use std::path::Path;

use super::policy::{self, ReadSkip};
use super::Context;
use crate::archive::{self, Compression, ListedEntry};
use crate::error::Result;
use crate::ledger;
use crate::store::{Layered, Source};

/// What a download came to, short of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downloaded {
    /// Not tried (the reason was reported).
    Skipped(ReadSkip),
    /// Neither the local cache nor the store has it.
    Miss,
    /// Extracted into OUT_DIR.
    Hit(Source),
}

/// Extracts artifact `name` into `out_dir` (created if missing).
pub fn download(ctx: &Context<'_>, name: &str, out_dir: &Path) -> Result<Downloaded> {
    let started = std::time::Instant::now();
    if let Some(skip) = policy::read_skip(ctx.settings, name) {
        ctx.reporter.note(&match skip {
            ReadSkip::Sentinel => {
                format!("Not using cache for {name} due to uncommitted changes/files.")
            }
            ReadSkip::NoCache => format!("Not using cache for {name} because NO_CACHE=1."),
        });
        return Ok(Downloaded::Skipped(skip));
    }
    let compression = Compression::for_name(name);
    let trust = &ctx.selected.trust;
    // The seal is checked with the digest, before the staged tree moves into OUT_DIR; a refusal
    // also keeps the bytes out of the local cache.
    let accept = |checked: &archive::Checked| trust.accept_artifact(name, checked);
    let found = layered(ctx).read(name, |reader| {
        archive::unpack_checked(reader, compression, out_dir, &accept)
    })?;
    let (outcome, op) = match found {
        Some((_, Source::Local)) => (Downloaded::Hit(Source::Local), ledger::Op::HitLocal),
        Some((_, source)) => (Downloaded::Hit(source), ledger::Op::HitStore),
        None => (Downloaded::Miss, ledger::Op::Miss),
    };
    ledger::append_shared(ctx.settings, ctx.selected, op, name, started);
    Ok(outcome)
}

/// The entries of artifact `name`; `None` on a miss.
pub fn list(ctx: &Context<'_>, name: &str) -> Result<Option<Vec<ListedEntry>>> {
    let compression = Compression::for_name(name);
    let found = layered(ctx).read(name, |reader| archive::list(reader, compression))?;
    Ok(found.map(|(entries, _)| entries))
}

fn layered<'a>(ctx: &'a Context<'a>) -> Layered<'a> {
    let local = ctx.local_cache(|dir| {
        format!(
            "Warning: Cannot create local cache dir {}, skipping local cache.",
            dir.display()
        )
    });
    Layered::new(local, Some(ctx.selected.store.as_ref()), ctx.reporter)
}
