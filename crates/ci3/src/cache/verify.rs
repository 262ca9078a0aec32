//! `cache_verify NAME`: who signed an object in the store, and whether that key is trusted.

use super::Context;
use crate::archive::{self, Checked, Compression};
use crate::error::Result;
use crate::store::{check_name, Layered};
use crate::trust::Signed;

/// Whether `name` is an artifact (an archive with a trailer) rather than a small object.
pub fn is_artifact(name: &str) -> bool {
    [".zst", ".gz", ".tgz"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Who signed object `name` (an artifact is read whole: its digest must match first); `None`
/// when the store does not have it. The local cache is not consulted: the question is about
/// what the store holds.
pub fn verify(ctx: &Context<'_>, name: &str) -> Result<Option<Signed>> {
    check_name(name)?;
    let store = ctx.selected.store.as_ref();
    let trust = &ctx.selected.trust;
    if !is_artifact(name) {
        let mut stored = Vec::new();
        if !store.get(name, &mut stored)? {
            return Ok(None);
        }
        return Ok(Some(trust.inspect_bytes(name, &stored).1));
    }
    let layered = Layered::new(None, Some(store), ctx.reporter);
    let compression = Compression::for_name(name);
    let found = layered.read(name, |reader| archive::verify(reader, compression))?;
    Ok(found.map(|(verified, _)| {
        let checked = Checked {
            digest: verified.digest,
            compressed_len: verified.compressed_len,
            seal: verified.seal,
        };
        trust.inspect_artifact(name, &checked)
    }))
}
