//! Bringing back the outputs of a recorded run: each file output fetched from the store object
//! its record names, checked against the recorded digest before it is placed, written beside
//! its destination and renamed into place, never outside the app directory. A docker image
//! output is brought into the local engine (pulled from where the run pushed it when the engine
//! lacks it), checked to be the recorded image, and its id file written the same way.
//!
//! Staged files are named after their owner ([`crate::scratch`]): a restore killed mid-copy
//! leaves one, and the next restore into that directory sweeps it. SIGINT or SIGTERM stops the
//! copy and removes the staged file.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::records::{self, object_of, OutputDigest, OutputName, OutputRecord, Record};
use super::run::docker;
use super::run::hashing::Hashing;
use super::status::TaskStatus;
use crate::digest::Digest;
use crate::report::Reporter;
use crate::settings::Settings;
use crate::store::Store;
use crate::trust::Trust;
use crate::{Error, IoAt, Result};

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

/// Restores the outputs of the run that makes `s` `Exist` into its app directory under `root`,
/// saying on `reporter` what happened to each (`ID: restored ...`).
pub fn restore_task(
    store: &dyn Store,
    trust: &Trust,
    settings: &Settings,
    root: &Path,
    s: &TaskStatus<'_>,
    reporter: &dyn Reporter,
) -> Result<Vec<Restored>> {
    let id = s.task.id();
    let run = s
        .run
        .as_ref()
        .ok_or_else(|| crate::err!(Miss, "{id}: no successful run with its current inputs"))?;
    let record = records::load(store, trust, &run.id)?
        .ok_or_else(|| crate::err!(Miss, "{id}: the record of run {} is missing", run.id))?;
    let app_dir = std::fs::canonicalize(root.join(&s.task.app.dir))?;
    let done = restore(store, settings, &record, &app_dir).map_err(|e| e.context(&id))?;
    if done.is_empty() {
        reporter.note(&format!("{id}: run {} has no outputs", run.id));
    }
    for r in &done {
        reporter.note(&format!("{id}: {}", r.said(&run.id)));
    }
    Ok(done)
}

impl Restored {
    /// What happened, as the tools say it after the task id.
    fn said(&self, run: &str) -> String {
        match self {
            Restored::File { path, size } => {
                format!("restored {path} (size: {size} B) from run {run}")
            }
            Restored::Unchanged { path } => format!("{path} is already as run {run} made it"),
            Restored::Docker {
                idfile,
                image_id,
                pulled,
            } => format!(
                "restored {idfile}: docker image {image_id} {}",
                match pulled {
                    Some(name) => format!("pulled from {name}"),
                    None => "already in the local engine".to_string(),
                }
            ),
        }
    }
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
    let mut places = Places {
        app_dir,
        swept: HashSet::new(),
    };
    for o in &record.outputs {
        out.push(match &o.name {
            OutputName::Docker(idfile) => restore_image(settings, o, idfile, &mut places)?,
            OutputName::File(rel) => restore_file(store, o, rel, &mut places)?,
        });
    }
    Ok(out)
}

/// The scratch kind of the files a restore stages beside their destination.
const STAGED: &str = "restore";

/// The canonical app directory, and the directories in it already cleared of staged files
/// killed restores left (each is read once per restore).
struct Places<'a> {
    app_dir: &'a Path,
    swept: HashSet<PathBuf>,
}

/// `rel` under `app_dir`, refused when it could name anything outside it.
fn destination(app_dir: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        crate::fail!(
            Failed,
            "{rel}: refused, an output path must stay inside the app directory"
        );
    }
    Ok(app_dir.join(p))
}

fn file_digest(path: &Path) -> Option<Digest> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = blake3::Hasher::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(Digest::from_hasher(&h))
}

/// Where output `rel` goes: its directory created and resolved (a symlinked directory on the
/// way could lead anywhere, so where the parent really is decides), refused outside the app
/// directory or onto a symbolic link; what killed restores staged there is removed.
fn place_for(places: &mut Places<'_>, rel: &str) -> Result<(PathBuf, PathBuf)> {
    let app_dir = places.app_dir;
    let dest = destination(app_dir, rel)?;
    let parent = dest
        .parent()
        .ok_or_else(|| crate::err!(Failed, "{rel}: no parent directory"))?;
    std::fs::create_dir_all(parent).at("cannot create", parent)?;
    let real_parent = std::fs::canonicalize(parent).at("cannot resolve", parent)?;
    if !real_parent.starts_with(app_dir) {
        crate::fail!(
            Failed,
            "{rel}: refused, its directory resolves to {} outside the app directory",
            real_parent.display()
        );
    }
    let dest = real_parent.join(
        dest.file_name()
            .ok_or_else(|| crate::err!(Failed, "{rel}: no file name"))?,
    );
    if std::fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink()) {
        crate::fail!(Failed, "{rel}: refused, the destination is a symbolic link");
    }
    if places.swept.insert(real_parent.clone()) {
        crate::scratch::sweep(&real_parent, &[STAGED], &|_| Ok(()));
    }
    Ok((real_parent, dest))
}

/// A temporary file beside the destination, renamed into place once complete, named as this
/// process's so that it is swept if the process is killed before either.
fn stage(dir: &Path) -> Result<tempfile::NamedTempFile> {
    crate::scratch::file_in(dir, STAGED).at("cannot stage in", dir)
}

fn put_in_place(staged: tempfile::NamedTempFile, dest: &Path, mode: u32) -> Result<()> {
    staged.as_file().sync_all()?;
    set_mode(staged.path(), mode)?;
    staged.persist(dest).map_err(|e| {
        Error::io(
            dest,
            format!("cannot place {}: {}", dest.display(), e.error),
        )
    })?;
    Ok(())
}

fn restore_file(
    store: &dyn Store,
    o: &OutputRecord,
    rel: &str,
    places: &mut Places<'_>,
) -> Result<Restored> {
    let (dir, dest) = place_for(places, rel)?;
    let object = object_of(o)?;
    if file_digest(&dest).map(OutputDigest::Blake3).as_ref() == Some(&o.digest) {
        if let Some(mode) = o.mode {
            set_mode(&dest, mode)?;
        }
        return Ok(Restored::Unchanged {
            path: rel.to_string(),
        });
    }
    let mut staged = stage(&dir)?;
    let mut hashing = Hashing::new(staged.as_file_mut());
    // A signal stops the copy; the staged file goes with the error.
    if !store.get(&object, &mut hashing)? {
        crate::fail!(Miss, "{rel}: the stored output {object} is missing");
    }
    let (digest, size) = hashing.finish();
    let digest = OutputDigest::Blake3(digest);
    if digest != o.digest || size != o.size {
        crate::fail!(Failed,
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
    places: &mut Places<'_>,
) -> Result<Restored> {
    let id = &o.digest.to_string();
    let id = id.as_str();
    let mut pulled = None;
    if docker::image_id(settings, id).as_deref() != Some(id) {
        let mut failed = Vec::new();
        for name in o
            .uploads
            .iter()
            .filter_map(|u| u.uri.strip_prefix("docker://"))
        {
            if let Err(e) = docker::run(settings, &["pull", name]) {
                failed.push(e.to_string());
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
            crate::fail!(
                Failed,
                "{idfile}: image {id} is not in the local docker engine and was not pulled: {why}"
            );
        }
    }
    let (dir, dest) = place_for(places, idfile)?;
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
        .at("cannot set the mode of", path)
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
