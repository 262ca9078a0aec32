//! Bringing back the outputs of a recorded run: each file output fetched from the store object
//! its record names, checked against the recorded digest before it is placed, written beside
//! its destination and renamed into place, never outside the app directory.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::records::{OutputRecord, Record};
use crate::store::{names, Store};

/// What happened to one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// Placed at this path (relative to the app dir).
    File { path: String, size: u64 },
    /// Already there with the recorded digest: left alone.
    Unchanged { path: String },
    /// A docker image: nothing to fetch, the image is in its registry.
    Docker { name: String, image_id: String },
}

/// The store object holding an output's bytes, as `task_run` stored it.
pub fn object_of(o: &OutputRecord) -> Result<String> {
    let hex = o
        .digest
        .strip_prefix("blake3:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| anyhow!("{}: not a digest: {}", o.name, o.digest))?;
    Ok(format!("{}outputs/{hex}", names::RUNS))
}

/// Restores every output of `record` into `app_dir` (the canonical app directory).
pub fn restore(store: &dyn Store, record: &Record, app_dir: &Path) -> Result<Vec<Restored>> {
    let mut out = Vec::new();
    for o in &record.outputs {
        if o.name.starts_with("docker:") {
            out.push(Restored::Docker {
                name: o.name.clone(),
                image_id: o.digest.clone(),
            });
            continue;
        }
        let rel = o
            .name
            .strip_prefix("file:")
            .ok_or_else(|| anyhow!("{}: an output of unknown kind", o.name))?;
        out.push(restore_file(store, o, rel, app_dir)?);
    }
    Ok(out)
}

/// `rel` under `app_dir`, refused when it could name anything outside it.
fn destination(app_dir: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        bail!("{rel}: refused, an output path must stay inside the app directory");
    }
    Ok(app_dir.join(p))
}

fn file_digest(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = blake3::Hasher::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(format!("blake3:{}", h.finalize().to_hex()))
}

fn restore_file(
    store: &dyn Store,
    o: &OutputRecord,
    rel: &str,
    app_dir: &Path,
) -> Result<Restored> {
    let dest = destination(app_dir, rel)?;
    let parent = dest
        .parent()
        .ok_or_else(|| anyhow!("{rel}: no parent directory"))?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    // A symlinked directory on the way could lead anywhere: where the parent really is decides.
    let real_parent = std::fs::canonicalize(parent)
        .with_context(|| format!("cannot resolve {}", parent.display()))?;
    if !real_parent.starts_with(app_dir) {
        bail!(
            "{rel}: refused, its directory resolves to {} outside the app directory",
            real_parent.display()
        );
    }
    let dest = real_parent.join(
        dest.file_name()
            .ok_or_else(|| anyhow!("{rel}: no file name"))?,
    );
    if std::fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!("{rel}: refused, the destination is a symbolic link");
    }
    if file_digest(&dest).as_deref() == Some(o.digest.as_str()) {
        if let Some(mode) = o.mode {
            set_mode(&dest, mode)?;
        }
        return Ok(Restored::Unchanged {
            path: rel.to_string(),
        });
    }
    let object = object_of(o)?;
    let mut staged = tempfile::Builder::new()
        .prefix(".ci3-restore-")
        .tempfile_in(&real_parent)
        .with_context(|| format!("cannot stage in {}", real_parent.display()))?;
    let mut hashing = Hashing {
        inner: staged.as_file_mut(),
        hasher: blake3::Hasher::new(),
        size: 0,
    };
    if !store.get(&object, &mut hashing)? {
        bail!("{rel}: the stored output {object} is missing");
    }
    let (digest, size) = (
        format!("blake3:{}", hashing.hasher.finalize().to_hex()),
        hashing.size,
    );
    if digest != o.digest || size != o.size {
        bail!(
            "{rel}: refused, the stored output {object} does not match the run record (digest {digest}, {size} B; recorded {}, {} B)",
            o.digest,
            o.size
        );
    }
    staged.as_file().sync_all()?;
    set_mode(staged.path(), o.mode.unwrap_or(0o644))?;
    staged
        .persist(&dest)
        .map_err(|e| anyhow!("cannot place {}: {}", dest.display(), e.error))?;
    Ok(Restored::File {
        path: rel.to_string(),
        size,
    })
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o777))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

/// A writer that digests and counts what passes through it.
struct Hashing<'a> {
    inner: &'a mut std::fs::File,
    hasher: blake3::Hasher,
    size: u64,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_app_dir_are_refused() {
        let dir = Path::new("/app");
        assert!(destination(dir, "out/x").is_ok());
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            assert!(destination(dir, bad).is_err(), "{bad}");
        }
    }
}
