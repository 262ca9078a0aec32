//! A finished task's outputs: each declared one checked to exist, copied once into a private
//! file and digested while copied, that copy stored in the store by its digest (an object
//! already there checked to hold those very bytes, and replaced when it does not), copied and
//! uploaded where the configuration says; a docker image tagged and pushed with the docker CLI.
//!
//! Only the private copy is read after the digest is known: a straggling child that rewrites
//! the output cannot make the stored bytes differ from their name.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::hashing::Hashing;
use super::{docker, Options};
use crate::digest::Digest;
use crate::report::Silent;
use crate::settings::Settings;
use crate::store::{Put, Store};
use crate::tasks::config::TaskRef;
use crate::tasks::records::{output_object, OutputDigest, OutputName, OutputRecord, Upload};
use crate::{IoAt, Result, ResultExt};

/// The declared outputs, each of which must exist now: `(name, path)`.
pub(super) fn check(
    t: TaskRef<'_>,
    app_dir: &Path,
    say: &dyn Fn(&str),
) -> Result<Vec<(OutputName, PathBuf)>> {
    let outs = &t.task.outputs;
    if outs.files.is_empty() && outs.docker_images.is_empty() {
        say("does not produce outputs");
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let declared = outs
        .files
        .iter()
        .map(|f| (OutputName::File(f.path.clone()), &f.path))
        .chain(
            outs.docker_images
                .iter()
                .map(|d| (OutputName::Docker(d.idfile.clone()), &d.idfile)),
        );
    for (name, rel) in declared {
        let path = app_dir.join(rel);
        match std::fs::metadata(&path) {
            Ok(md) if md.is_file() => {
                say(&format!("created {rel} (size: {} B)", md.len()));
                found.push((name, path));
            }
            _ => {
                say(&format!(
                    "has {rel} as output defined but it was not created by the task run"
                ));
                missing.push(rel.clone());
            }
        }
    }
    if !missing.is_empty() {
        crate::fail!(Failed, "outputs not created: {}", missing.join(", "));
    }
    Ok(found)
}

/// Copies an output once, stores that copy in the store by the digest of its bytes, and copies
/// and uploads it where the configuration says.
pub(super) fn store(
    t: TaskRef<'_>,
    opts: &Options<'_>,
    name: &OutputName,
    path: &Path,
    say: &dyn Fn(&str),
) -> Result<OutputRecord> {
    let rel = match name {
        OutputName::Docker(idfile) => return push_image(t, opts, idfile, path, say),
        OutputName::File(rel) => rel,
    };
    let Copied {
        staged,
        digest,
        size,
        mode,
    } = copy_once(path)?;
    let staged = staged.path();
    let object = output_object(&digest);
    let mut uploads = Vec::new();
    timed(&mut uploads, format!("ci3-store:{object}"), || {
        put_verified(opts.store, &object, staged, &digest, size, say)
    })?;
    if let Some(f) = t.task.outputs.files.iter().find(|f| f.path == *rel) {
        for c in &f.file_copy {
            let dest_dir = opts.root.join(&t.app.dir).join(&c.path);
            std::fs::create_dir_all(&dest_dir).at("cannot create", &dest_dir)?;
            let base = path
                .file_name()
                .ok_or_else(|| crate::err!(Failed, "{}: no file name", path.display()))?;
            let dest = dest_dir.join(base);
            timed(&mut uploads, format!("file://{}", dest.display()), || {
                std::fs::copy(staged, &dest)
                    .with_context(|| format!("cannot copy to {}", dest.display()))?;
                if let Some(mode) = mode {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode))
                        .at("cannot set the mode of", &dest)?;
                }
                Ok(())
            })?;
            say(&format!("{} copied to {}", f.path, dest.display()));
        }
        for s3 in &f.s3_upload {
            let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = opts
                .settings
                .vars()
                .filter(|(k, _)| *k != "CI3_STORE")
                .map(|(k, v)| (k.to_os_string(), v.to_os_string()))
                .collect();
            vars.push(("CI3_STORE".into(), format!("s3://{}/", s3.bucket).into()));
            let settings = Settings::from_vars(vars);
            let selected = crate::store::open(&settings, Arc::new(Silent))?;
            let url = format!("s3://{}/{}", s3.bucket, s3.key);
            timed(&mut uploads, url.clone(), || {
                selected.store.put_file(&s3.key, staged, false)?;
                Ok(())
            })?;
            say(&format!("{} uploaded to {url}", f.path));
        }
    }
    Ok(OutputRecord {
        name: name.clone(),
        digest: OutputDigest::Blake3(digest),
        size,
        mode,
        uploads,
    })
}

/// An output's bytes as they were read once: a private copy, its digest, size and mode.
struct Copied {
    staged: tempfile::NamedTempFile,
    digest: Digest,
    size: u64,
    mode: Option<u32>,
}

/// Reads the output at `path` once into a private file in the temporary directory, digesting
/// what is copied. The mode is the open file's, read before its bytes.
fn copy_once(path: &Path) -> Result<Copied> {
    use std::os::unix::fs::PermissionsExt;
    let mut file = std::fs::File::open(path).at("cannot read", path)?;
    let mode = file.metadata().ok().map(|m| m.permissions().mode() & 0o777);
    let tmp = std::env::temp_dir();
    let mut staged = crate::scratch::file_in(&tmp, "output").at("cannot stage in", &tmp)?;
    let mut hashing = Hashing::new(std::io::BufWriter::new(staged.as_file_mut()));
    std::io::copy(&mut file, &mut hashing).at("cannot copy", path)?;
    hashing.flush().at("cannot stage", path)?;
    let (digest, size) = hashing.finish();
    drop(hashing);
    Ok(Copied {
        staged,
        digest,
        size,
        mode,
    })
}

/// Stores the file `staged` (`size` bytes with `digest`) under `object`. An object already
/// there is read back and kept only when it holds exactly these bytes; otherwise (planted in
/// advance, or torn) it is replaced and read back again, and the write fails when it still
/// does not hold them: a record must never point at bytes a restore refuses.
fn put_verified(
    store: &dyn Store,
    object: &str,
    staged: &Path,
    digest: &Digest,
    size: u64,
    say: &dyn Fn(&str),
) -> Result<()> {
    if !store.exists(object)? && store.put_file(object, staged, true)? == Put::Created {
        return Ok(());
    }
    let Some(why) = mismatch(store, object, digest, size)? else {
        return Ok(());
    };
    say(&format!("replacing {object} in the store: {why}"));
    store.put_file(object, staged, false)?;
    if let Some(why) = mismatch(store, object, digest, size)? {
        crate::fail!(
            Corrupt,
            "{object}: the store does not hold the output's bytes after replacing them: {why}"
        );
    }
    Ok(())
}

/// Why the object `object` is not `size` bytes with `digest`; `None` when it is.
fn mismatch(store: &dyn Store, object: &str, digest: &Digest, size: u64) -> Result<Option<String>> {
    let mut hashing = Hashing::new(std::io::sink());
    if !store.get(object, &mut hashing)? {
        return Ok(Some("it is gone".to_string()));
    }
    let (got, got_size) = hashing.finish();
    Ok((got != *digest || got_size != size).then(|| {
        format!(
            "it holds other bytes ({}, {got_size} B; the output is {}, {size} B)",
            got.prefixed(),
            digest.prefixed()
        )
    }))
}

/// A docker image output: its id read from the id file, tagged and pushed with the docker CLI
/// for each registry upload. The image id is the output's digest: the image itself stays in
/// the docker engine and its registries, not in the store.
fn push_image(
    t: TaskRef<'_>,
    opts: &Options<'_>,
    idfile: &str,
    path: &Path,
    say: &dyn Fn(&str),
) -> Result<OutputRecord> {
    let text = std::fs::read_to_string(path).at("cannot read", path)?;
    let image = text.trim();
    let hex = image.strip_prefix("sha256:").unwrap_or(image);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() > 64 {
        crate::fail!(Failed, "{idfile}: not a docker image id: {image:?}");
    }
    let decl = t
        .task
        .outputs
        .docker_images
        .iter()
        .find(|d| d.idfile == idfile)
        .ok_or_else(|| crate::err!(Failed, "{idfile}: not a declared docker image output"))?;
    let mut uploads = Vec::new();
    for r in &decl.registry_upload {
        let name = if r.registry.is_empty() {
            format!("{}:{}", r.repository, r.tag)
        } else {
            format!(
                "{}/{}:{}",
                r.registry.trim_end_matches('/'),
                r.repository,
                r.tag
            )
        };
        timed(&mut uploads, format!("docker://{name}"), || {
            docker::run(opts.settings, &["tag", image, &name])?;
            docker::run(opts.settings, &["push", &name])?;
            Ok(())
        })?;
        say(&format!("image {image} pushed to {name}"));
    }
    Ok(OutputRecord {
        name: OutputName::Docker(idfile.to_string()),
        digest: OutputDigest::Image(image.to_string()),
        size: docker::image_size(opts.settings, image),
        mode: None,
        uploads,
    })
}

/// Runs `put`, and on success records where it put an output and how long that took.
fn timed(uploads: &mut Vec<Upload>, uri: String, put: impl FnOnce() -> Result<()>) -> Result<()> {
    let start = std::time::Instant::now();
    put()?;
    uploads.push(Upload {
        uri,
        duration_us: start.elapsed().as_micros() as u64,
    });
    Ok(())
}
