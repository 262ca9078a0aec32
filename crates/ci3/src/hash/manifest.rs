//! Input manifests: the entries (path, mode, object id) behind a key, so that a key that
//! changed can be explained path by path.
//!
//! The hashing tools remember the entries of every clean key they print in a key-addressed file
//! under `$XDG_CACHE_HOME/ci3/manifests/` (written once per key, so repeated calls cost a
//! `stat`); `cache_upload` stores the manifest of the key in an artifact's name beside the
//! artifact, as `.ci3/manifest/NAME.json`: a name no build script chooses for an artifact.
//! Stored manifests are signed like every small object; with trusted keys configured, one none
//! of them signed explains nothing (a forged manifest would send a reader after the wrong file).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::git::Entry;
use crate::settings::Settings;
use crate::store::{names, Store};
use crate::trust::Trust;
use crate::{err, fail};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub key: String,
    pub platform: String,
    /// The pattern lines the key was computed with.
    pub patterns: Vec<String>,
    pub entries: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub path: String,
    pub mode: String,
    pub id: String,
}

impl Manifest {
    pub fn new(key: &str, platform: &str, patterns: &[String], entries: &[Entry]) -> Manifest {
        let mut entries: Vec<ManifestEntry> = entries
            .iter()
            .map(|e| ManifestEntry {
                path: String::from_utf8_lossy(&e.path).into_owned(),
                mode: e.mode.octal().into(),
                id: e.id.to_string(),
            })
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Manifest {
            version: 1,
            key: key.into(),
            platform: platform.into(),
            patterns: patterns.to_vec(),
            entries,
        }
    }
}

/// Where the manifests of this machine's keys are remembered.
pub fn local_dir(settings: &Settings) -> PathBuf {
    settings.state().manifests()
}

fn local_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.json"))
}

/// Keeps the manifest of `key` on this machine, once (it is built only then); failures only
/// cost the explanation.
pub fn remember(dir: &Path, key: &str, build: impl FnOnce() -> Manifest) {
    let path = local_path(dir, key);
    if path.exists() {
        return;
    }
    let manifest = &build();
    let write = || -> std::io::Result<()> {
        let dir = path.parent().expect("manifests dir");
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(std::io::BufWriter::new(tmp.as_file_mut()), manifest)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    let _ = write();
}

/// The manifest remembered on this machine for `key`.
pub fn recall(dir: &Path, key: &str) -> Option<Manifest> {
    let bytes = std::fs::read(local_path(dir, key)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The keys a name may carry: runs of 16 or 32 hex digits between other characters.
pub fn keys_in(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|t| t.len() == 16 || t.len() == 32)
}

/// The part of an artifact name before its key (`app-` of `app-0123456789abcdef.tar.zst`),
/// which the artifacts of one project share.
pub fn stem(name: &str) -> Option<&str> {
    let key = keys_in(name).next()?;
    let at = name.find(key)?;
    Some(&name[..at])
}

/// How the inputs of `now` differ from those of `then`, by path.
pub fn diff(then: &[ManifestEntry], now: &[ManifestEntry]) -> Vec<(char, String)> {
    let old: BTreeMap<&str, &ManifestEntry> = then.iter().map(|e| (e.path.as_str(), e)).collect();
    let new: BTreeMap<&str, &ManifestEntry> = now.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = Vec::new();
    for (path, e) in &old {
        match new.get(path) {
            None => out.push(('-', path.to_string())),
            Some(n) if n.id != e.id => out.push(('M', path.to_string())),
            Some(n) if n.mode != e.mode => {
                out.push(('T', format!("{path} ({} -> {})", e.mode, n.mode)))
            }
            Some(_) => {}
        }
    }
    for path in new.keys().filter(|p| !old.contains_key(*p)) {
        out.push(('+', path.to_string()));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The manifest stored as `object`, read back: an error when it is not trusted or malformed.
fn parse(trust: &Trust, object: &str, stored: &[u8]) -> Result<Manifest> {
    let body = trust.verify_bytes(object, stored)?;
    serde_json::from_slice(body).map_err(|e| err!(Corrupt, "{object} is malformed: {e}"))
}

/// The manifest of artifact `name`: remembered here by its key, else stored beside it.
pub fn find(name: &str, store: &dyn Store, trust: &Trust, dir: &Path) -> Result<Option<Manifest>> {
    // What this machine computed needs no signature.
    if let Some(m) = keys_in(name).find_map(|key| recall(dir, key)) {
        return Ok(Some(m));
    }
    let object = names::manifest(name)?;
    let mut stored = Vec::new();
    if !store.get(&object, &mut stored)? {
        return Ok(None);
    }
    parse(trust, &object, &stored).map(Some)
}

/// The newest manifest stored for another artifact of the same project as `name` (same name
/// before the key), with that artifact's name; untrusted and malformed ones are passed over.
pub fn nearest(name: &str, store: &dyn Store, trust: &Trust) -> Result<Option<(String, Manifest)>> {
    let Some(stem) = stem(name) else {
        return Ok(None);
    };
    let own = names::manifest(name)?;
    let listed = store.list(&format!("{}{stem}", names::MANIFESTS))?;
    for object in listed.iter().rev().filter(|o| **o != own) {
        let mut stored = Vec::new();
        if !store.get(object, &mut stored)? {
            continue;
        }
        if let Ok(m) = parse(trust, object, &stored) {
            let artifact = object
                .trim_start_matches(names::MANIFESTS)
                .trim_end_matches(".json")
                .to_string();
            return Ok(Some((artifact, m)));
        }
    }
    Ok(None)
}

/// The entries the manifest's patterns match now, as the files are on disk.
pub fn current(settings: &Settings, patterns: &[String]) -> Result<Vec<ManifestEntry>> {
    let patterns = patterns
        .iter()
        .map(|t| super::patterns::Pattern {
            text: t.clone(),
            origin: "manifest".into(),
        })
        .collect();
    on_disk(settings, patterns)
}

/// The entries `patterns` match now, as the files are on disk, in manifest form.
pub fn on_disk(
    settings: &Settings,
    patterns: Vec<super::patterns::Pattern>,
) -> Result<Vec<ManifestEntry>> {
    match super::content::resolve_patterns(settings, patterns, super::content::Source::Worktree)? {
        super::content::Resolved::Entries(entries, texts) => {
            Ok(Manifest::new("", "", &texts, &entries).entries)
        }
        super::content::Resolved::Dirty(_) => {
            unreachable!("work tree resolution has no dirty state")
        }
        super::content::Resolved::Unmatched(message) => Err(Error::failed(message)),
    }
}

/// How the inputs `patterns` match on disk now differ from those artifact `name` was built
/// from (see [`diff`]); a miss when no manifest of it is known.
pub fn explain(
    settings: &Settings,
    store: &dyn Store,
    trust: &Trust,
    name: &str,
    patterns: &[OsString],
) -> Result<Vec<(char, String)>> {
    let now = on_disk(settings, super::patterns::load(patterns)?)?;
    let Some(then) = find(name, store, trust, &local_dir(settings))? else {
        fail!(
            Miss,
            "no input manifest stored for {name} in {}",
            store.describe()
        );
    };
    Ok(diff(&then.entries, &now))
}

/// Stores the manifest of the key in `name` beside artifact `name`, when one is remembered.
pub fn upload_for(name: &str, store: &dyn Store, trust: &Trust, dir: &Path) -> Result<()> {
    if let Some(manifest) = keys_in(name).find_map(|key| recall(dir, key)) {
        if let Ok(json) = serde_json::to_vec(&manifest) {
            let object = names::manifest(name)?;
            store.put_bytes(&object, &trust.sign_bytes(&object, &json), false)?;
        }
    }
    Ok(())
}

/// One line per change: `M path` (content), `T path (mode -> mode)`, `+ path`, `- path`.
pub fn render(changes: &[(char, String)]) -> String {
    changes.iter().map(|(c, p)| format!("{c} {p}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, mode: &str, id: &str) -> ManifestEntry {
        ManifestEntry {
            path: path.into(),
            mode: mode.into(),
            id: id.into(),
        }
    }

    #[test]
    fn diff_names_added_removed_changed_and_mode_changes() {
        let then = vec![
            e("a", "100644", "1"),
            e("b", "100644", "2"),
            e("c", "100644", "3"),
        ];
        let now = vec![
            e("a", "100644", "1"),
            e("b", "100644", "9"),
            e("c", "100755", "3"),
            e("d", "100644", "4"),
        ];
        let then2 = [then.clone(), vec![e("gone", "100644", "5")]].concat();
        assert_eq!(
            diff(&then2, &now),
            vec![
                ('M', "b".into()),
                ('T', "c (100644 -> 100755)".into()),
                ('+', "d".into()),
                ('-', "gone".into())
            ]
        );
    }

    #[test]
    fn keys_and_stems_of_names() {
        assert_eq!(
            keys_in("app-0123456789abcdef.tar.zst").collect::<Vec<_>>(),
            ["0123456789abcdef"]
        );
        assert_eq!(stem("bb-clang20-0123456789abcdef.zst"), Some("bb-clang20-"));
        assert_eq!(stem("no-key.tar.gz"), None);
    }
}
