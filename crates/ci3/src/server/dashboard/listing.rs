//! Store reads the pages need and the API has no call for: the names one level below a prefix
//! (a directory store reads one directory, not its whole tree) and a list's newest lines.

use std::collections::BTreeSet;

use super::Ctx;
use crate::server::{limits, objects, reads};

/// The distinct first segments of the names under `prefix` (which ends with `/`), sorted.
pub fn children(ctx: &Ctx, prefix: &str) -> crate::Result<Vec<String>> {
    if let Some(root) = ctx.store.local_root() {
        let dir = root.join(prefix.trim_end_matches('/'));
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(crate::Error::io(&dir, format!("{}: {e}", dir.display()))),
        };
        let mut out: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with(".ci3-"))
            .collect();
        out.sort();
        return Ok(out);
    }
    let names = ctx.store.list(prefix)?;
    let found: BTreeSet<String> = names
        .iter()
        .filter_map(|n| {
            n.strip_prefix(prefix)?
                .split_once('/')
                .map(|(d, _)| d.to_string())
        })
        .collect();
    Ok(found.into_iter().collect())
}

/// The lists whose names start with `start`.
pub fn lists(ctx: &Ctx, start: &str) -> crate::Result<Vec<String>> {
    let all = children(ctx, ".ci3/lists/")?;
    Ok(all.into_iter().filter(|n| n.starts_with(start)).collect())
}

/// The newest `max` live lines of list `name`, newest first.
pub fn lines(ctx: &Ctx, name: &str, max: usize) -> crate::Result<Vec<String>> {
    let entries = ctx.store.list_sorted(&objects::list_dir(name), None, max)?;
    let now = ctx.now();
    let read = reads::many(&entries, |entry| {
        reads::small(ctx.store.as_ref(), entry, now, limits::LINE + 2)
    })?;
    Ok(read
        .into_iter()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect())
}
