//! Bringing back the outputs of a recorded run: each file output fetched from the store object
//! its record names, checked against the recorded digest before it is placed, written beside
//! its destination and renamed into place, never outside the app directory. A docker image
//! output is brought into the local engine (pulled from where the run pushed it when the engine
//! lacks it), checked to be the recorded image, and its id file written the same way.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::docker;
use super::records::{OutputRecord, Record};
use crate::settings::Settings;
use crate::store::{names, Store};

/// What happened to one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// Placed at this path (relative to the app dir).
    File { path: String, size: u64 },
    /// Already there with the recorded digest: left alone.
    Unchanged { path: String },
    /// A docker image in the local engine, its id written to `idfile`; `pulled` names where it
    /// came from when the engine did not have it.
    Docker {
        idfile: String,
        image_id: String,
        pulled: Option<String>,
    },
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

/// Restores every output of `record` into `app_dir` (the canonical app directory); `settings`
/// is the environment the docker CLI runs with.
pub fn restore(
    store: &dyn Store,
    settings: &Settings,
    record: &Record,
    app_dir: &Path,
) -> Result<Vec<Restored>> {
    let mut out = Vec::new();
    for o in &record.outputs {
        if let Some(idfile) = o.name.strip_prefix("docker:") {
            out.push(restore_image(settings, o, idfile, app_dir)?);
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

/// Where output `rel` goes: its directory created and resolved (a symlinked directory on the
/// way could lead anywhere, so where the parent really is decides), refused outside the app
/// directory or onto a symbolic link.
fn place_for(app_dir: &Path, rel: &str) -> Result<(PathBuf, PathBuf)> {
    let dest = destination(app_dir, rel)?;
    let parent = dest
        .parent()
        .ok_or_else(|| anyhow!("{rel}: no parent directory"))?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
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
    Ok((real_parent, dest))
}

/// A temporary file beside the destination, renamed into place once complete.
fn stage(dir: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".ci3-restore-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot stage in {}", dir.display()))
}

fn put_in_place(staged: tempfile::NamedTempFile, dest: &Path, mode: u32) -> Result<()> {
    staged.as_file().sync_all()?;
    set_mode(staged.path(), mode)?;
    staged
        .persist(dest)
        .map_err(|e| anyhow!("cannot place {}: {}", dest.display(), e.error))?;
    Ok(())
}

fn restore_file(
    store: &dyn Store,
    o: &OutputRecord,
    rel: &str,
    app_dir: &Path,
) -> Result<Restored> {
    let (dir, dest) = place_for(app_dir, rel)?;
    if file_digest(&dest).as_deref() == Some(o.digest.as_str()) {
        if let Some(mode) = o.mode {
            set_mode(&dest, mode)?;
        }
        return Ok(Restored::Unchanged {
            path: rel.to_string(),
        });
    }
    let object = object_of(o)?;
    let mut staged = stage(&dir)?;
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
    put_in_place(staged, &dest, o.mode.unwrap_or(0o644))?;
    Ok(Restored::File {
        path: rel.to_string(),
        size,
    })
}

/// A docker image output: the recorded image in the local engine, else pulled from the first
/// place the run pushed it to that still serves that very image (a tag may have moved since),
/// then its id written to the id file, as `docker build --iidfile` writes it.
fn restore_image(
    settings: &Settings,
    o: &OutputRecord,
    idfile: &str,
    app_dir: &Path,
) -> Result<Restored> {
    let id = o.digest.as_str();
    let mut pulled = None;
    if docker::image_id(settings, id).as_deref() != Some(id) {
        let mut failed = Vec::new();
        for name in o
            .uploads
            .iter()
            .filter_map(|u| u.uri.strip_prefix("docker://"))
        {
            if let Err(e) = docker::run(settings, &["pull", name]) {
                failed.push(format!("{e:#}"));
                continue;
            }
            match docker::image_id(settings, name) {
                Some(got) if got == id => {
                    pulled = Some(name.to_string());
                    break;
                }
                got => failed.push(format!(
                    "{name} is now image {}",
                    got.as_deref().unwrap_or("(none)")
                )),
            }
        }
        if pulled.is_none() {
            let why = if failed.is_empty() {
                "the run pushed it nowhere".to_string()
            } else {
                failed.join("; ")
            };
            bail!(
                "{idfile}: image {id} is not in the local docker engine and was not pulled: {why}"
            );
        }
    }
    let (dir, dest) = place_for(app_dir, idfile)?;
    if std::fs::read_to_string(&dest).map_or(true, |text| text.trim() != id) {
        let mut staged = stage(&dir)?;
        staged.write_all(id.as_bytes())?;
        put_in_place(staged, &dest, 0o644)?;
    }
    Ok(Restored::Docker {
        idfile: idfile.to_string(),
        image_id: id.to_string(),
        pulled,
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
