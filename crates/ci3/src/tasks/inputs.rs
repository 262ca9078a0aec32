//! A task's inputs resolved against the work tree and the environment, each with its digest,
//! and the total input digest that names a run.
//!
//! Files are named by their path relative to the root; their content id is the git blob id,
//! taken from the index when the stat data matches, so a file digests the same whether or not it
//! is committed and wherever the checkout is.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use globset::{GlobBuilder, GlobMatcher, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::model::{App, Task};
use super::targets::TaskRef;
use crate::git::{blob_id_of_reader, FileIds, Mode};
use crate::settings::Settings;

/// What an input is; part of its digest, so that a string never digests like a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    File,
    Env,
    String,
    Task,
}

impl InputKind {
    fn tag(self) -> &'static [u8] {
        match self {
            InputKind::File => b"ci3-task-input-file\0",
            InputKind::Env => b"ci3-task-input-env\0",
            InputKind::String => b"ci3-task-input-string\0",
            InputKind::Task => b"ci3-task-input-task\0",
        }
    }
}

/// One input with its digest. Environment variables are named, never valued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub kind: InputKind,
    /// A file's path relative to the root, a variable's name, the string, or the task id.
    pub name: String,
    /// `blake3:<hex>`.
    pub digest: String,
}

impl Input {
    /// How listings show it: a file as its path, the rest with a prefix saying what it is.
    pub fn shown(&self) -> String {
        match self.kind {
            InputKind::File => self.name.clone(),
            InputKind::Env => format!("${}", self.name),
            InputKind::String => format!("string:{}", self.name),
            InputKind::Task => format!("task:{}", self.name),
        }
    }
}

/// A task's inputs, sorted, and their total digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub inputs: Vec<Input>,
    /// `blake3:<hex>`.
    pub total: String,
}

fn digest(kind: InputKind, parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(kind.tag());
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    format!("blake3:{}", h.finalize().to_hex())
}

/// BLAKE3 over the sorted per-input digests.
pub fn total_digest(inputs: &[Input]) -> String {
    let mut digests: Vec<&str> = inputs.iter().map(|i| i.digest.as_str()).collect();
    digests.sort_unstable();
    let mut h = blake3::Hasher::new();
    for d in digests {
        h.update(d.as_bytes());
        h.update(b"\n");
    }
    format!("blake3:{}", h.finalize().to_hex())
}

/// The digest of an input string, for `--lookup-input-str`.
pub fn string_input(s: &str) -> Input {
    Input {
        kind: InputKind::String,
        name: s.to_string(),
        digest: digest(InputKind::String, &[s.as_bytes()]),
    }
}

/// Resolves the inputs of any number of tasks against one read of the index.
pub struct Resolver<'a> {
    root: PathBuf,
    settings: &'a Settings,
    files: FileIds<'a>,
    input_strs: Vec<String>,
    done: Mutex<HashMap<String, Resolved>>,
    /// Real paths of directories met, so that each is resolved once.
    real_dirs: Mutex<HashMap<PathBuf, PathBuf>>,
}

impl<'a> Resolver<'a> {
    /// `root` is the canonical repository root, `files` the index of its checkout;
    /// `input_strs` count as inputs of every task.
    pub fn new(
        root: &Path,
        settings: &'a Settings,
        files: FileIds<'a>,
        input_strs: &[String],
    ) -> Self {
        Resolver {
            root: root.to_path_buf(),
            settings,
            files,
            input_strs: input_strs.to_vec(),
            done: Mutex::new(HashMap::new()),
            real_dirs: Mutex::new(HashMap::new()),
        }
    }

    /// The inputs of a task; the error names the task and what could not be resolved.
    pub fn resolve(&self, t: TaskRef<'_>) -> Result<Resolved> {
        let id = t.id();
        if let Some(r) = self.done.lock().expect("resolver").get(&id) {
            return Ok(r.clone());
        }
        let r = self
            .compute(t.app, t.task, &mut Vec::new())
            .map_err(|e| anyhow!("{id}: {e:#}"))?;
        Ok(r)
    }

    fn compute(&self, app: &App, task: &Task, chain: &mut Vec<String>) -> Result<Resolved> {
        let id = format!("{}.{}", app.name, task.name);
        if let Some(r) = self.done.lock().expect("resolver").get(&id) {
            return Ok(r.clone());
        }
        if chain.contains(&id) {
            bail!("TaskInfos cycle through {id}");
        }
        chain.push(id.clone());
        let mut inputs = Vec::new();
        let mut paths: BTreeSet<String> = BTreeSet::new();
        for f in &task.inputs.files {
            for pattern in &f.paths {
                let mut found = BTreeSet::new();
                glob_files(&self.root, pattern, &mut found)?;
                let mut found: Vec<String> = found
                    .into_iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if f.git_tracked_only {
                    found.retain(|p| self.files.is_tracked(p.as_bytes()));
                }
                if found.is_empty() && !f.optional {
                    bail!(
                        "{}: input \"{pattern}\" matches no {}file (set optional = true if that is expected)",
                        task.config_files[0],
                        if f.git_tracked_only { "git-tracked " } else { "" }
                    );
                }
                paths.extend(found);
            }
        }
        let app_dir = self.root.join(&app.dir);
        for go in &task.inputs.golang {
            let files = super::golang::resolve(self.settings, &app_dir, go)
                .map_err(|e| anyhow!("{}: GolangSources: {e:#}", task.config_files[0]))?;
            for file in files {
                let rel = file.strip_prefix(&self.root).map_err(|_| {
                    anyhow!(
                        "{}: GolangSources: {} is outside the repository",
                        task.config_files[0],
                        file.display()
                    )
                })?;
                paths.insert(rel.to_string_lossy().into_owned());
            }
        }
        if !task.inputs.excluded.is_empty() {
            let mut set = GlobSetBuilder::new();
            for g in &task.inputs.excluded {
                set.add(glob(g)?.glob().clone());
            }
            let set = set.build()?;
            paths.retain(|p| !set.is_match(p));
        }
        paths.extend(task.config_files.iter().cloned());
        for p in &paths {
            inputs.push(self.file(p)?);
        }
        for vars in &task.inputs.env_vars {
            for name in &vars.names {
                let found = self.env(name);
                if found.is_empty() && !vars.optional {
                    bail!(
                        "{}: environment variable {name} is an input but is not set",
                        task.config_files[0]
                    );
                }
                inputs.extend(found);
            }
        }
        for info in &task.inputs.task_infos {
            let other = app
                .tasks
                .iter()
                .find(|t| t.name == info.task_name)
                .ok_or_else(|| anyhow!("no task {} in app {}", info.task_name, app.name))?;
            let r = self.compute(app, other, chain)?;
            let other_id = format!("{}.{}", app.name, other.name);
            inputs.push(Input {
                kind: InputKind::Task,
                digest: digest(InputKind::Task, &[other_id.as_bytes(), r.total.as_bytes()]),
                name: other_id,
            });
        }
        inputs.extend(self.input_strs.iter().map(|s| string_input(s)));
        inputs.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        inputs.dedup();
        chain.pop();
        let r = Resolved {
            total: total_digest(&inputs),
            inputs,
        };
        self.done.lock().expect("resolver").insert(id, r.clone());
        Ok(r)
    }

    /// Variables named `name`, or matching it when it is a glob; values count, never shown.
    fn env(&self, name: &str) -> Vec<Input> {
        let one = |n: &str, v: &std::ffi::OsStr| Input {
            kind: InputKind::Env,
            name: n.to_string(),
            digest: digest(
                InputKind::Env,
                &[n.as_bytes(), std::os::unix::ffi::OsStrExt::as_bytes(v)],
            ),
        };
        if !is_glob(name) {
            return self
                .settings
                .var(name)
                .map(|v| one(name, v))
                .into_iter()
                .collect();
        }
        let Ok(m) = glob(name) else {
            return Vec::new();
        };
        self.settings
            .vars()
            .filter_map(|(k, v)| {
                let k = k.to_str()?;
                m.is_match(k).then(|| one(k, v))
            })
            .collect()
    }

    /// A file's input: its path, where it really is when a symlink is on the way, its
    /// executable bit and its blob id.
    fn file(&self, rel: &str) -> Result<Input> {
        let abs = self.root.join(rel);
        let md = fs::symlink_metadata(&abs).with_context(|| format!("cannot stat {rel}"))?;
        let parent = abs.parent().unwrap_or(&self.root);
        let real_parent = self.real_dir(parent)?;
        let (real, exec, id) = if md.file_type().is_symlink() || real_parent != parent {
            let real = match fs::canonicalize(&abs) {
                Ok(real) => real,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    bail!("{rel}: broken symbolic link")
                }
                Err(e) => bail!("{rel}: {e}"),
            };
            let target = fs::metadata(&real).with_context(|| format!("cannot stat {rel}"))?;
            if !target.is_file() {
                bail!("{rel}: not a file");
            }
            let file = fs::File::open(&real).with_context(|| format!("cannot read {rel}"))?;
            let id = blob_id_of_reader(file, target.len())
                .with_context(|| format!("cannot hash {rel}"))?;
            let shown = match real.strip_prefix(&self.root) {
                Ok(r) => r.to_string_lossy().into_owned(),
                Err(_) => real.to_string_lossy().into_owned(),
            };
            (shown, target.permissions().mode() & 0o100 != 0, id)
        } else {
            let f = self
                .files
                .id(rel.as_bytes(), &md)?
                .ok_or_else(|| anyhow!("{rel}: not a file"))?;
            (String::new(), f.mode == Mode::Executable, f.id)
        };
        let id = id.to_string();
        Ok(Input {
            kind: InputKind::File,
            digest: digest(
                InputKind::File,
                &[
                    rel.as_bytes(),
                    real.as_bytes(),
                    if exec { b"x" } else { b"-" },
                    id.as_bytes(),
                ],
            ),
            name: rel.to_string(),
        })
    }

    fn real_dir(&self, dir: &Path) -> Result<PathBuf> {
        if let Some(r) = self.real_dirs.lock().expect("resolver").get(dir) {
            return Ok(r.clone());
        }
        let real = fs::canonicalize(dir).with_context(|| format!("{}", dir.display()))?;
        self.real_dirs
            .lock()
            .expect("resolver")
            .insert(dir.to_path_buf(), real.clone());
        Ok(real)
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{', '\\'])
}

/// A glob where `*` stays within a path component, as in the original.
fn glob(pattern: &str) -> Result<GlobMatcher> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .with_context(|| format!("invalid glob \"{pattern}\""))?
        .compile_matcher())
}

enum Part {
    Literal(String),
    Glob(GlobMatcher),
    /// `**`: any number of directories.
    Any,
}

/// The files (and symlinks to files) below `base` matching `pattern`, relative to `base`.
/// Directories are entered component by component, so only those the pattern can reach are
/// read; `**` does not follow symlinked directories, and `.git` is never entered.
pub(super) fn glob_files(base: &Path, pattern: &str, out: &mut BTreeSet<PathBuf>) -> Result<()> {
    let mut parts = Vec::new();
    for c in pattern.split('/').filter(|c| !c.is_empty() && *c != ".") {
        parts.push(match c {
            "**" => Part::Any,
            c if is_glob(c) => Part::Glob(glob(c)?),
            c => Part::Literal(c.to_string()),
        });
    }
    walk(base, &PathBuf::new(), &parts, out)
}

fn walk(base: &Path, rel: &Path, parts: &[Part], out: &mut BTreeSet<PathBuf>) -> Result<()> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    // `known` is the entry's type as its directory listing gave it, which spares a stat for
    // all but symbolic links.
    let take = |next: PathBuf, known: Option<fs::FileType>, out: &mut BTreeSet<PathBuf>| {
        let path = base.join(&next);
        if rest.is_empty() {
            if is_file_like(&path, known) {
                out.insert(next);
            }
            Ok(())
        } else if match known {
            Some(ft) if !ft.is_symlink() => ft.is_dir(),
            _ => path.is_dir(),
        } {
            walk(base, &next, rest, out)
        } else {
            Ok(())
        }
    };
    match first {
        Part::Literal(name) => take(rel.join(name), None, out),
        Part::Glob(m) => {
            for (name, ft) in entries(&base.join(rel))? {
                if m.is_match(&name) {
                    take(rel.join(&name), Some(ft), out)?;
                }
            }
            Ok(())
        }
        Part::Any => {
            if !rest.is_empty() {
                walk(base, rel, rest, out)?;
            }
            for (name, ft) in entries(&base.join(rel))? {
                let next = rel.join(&name);
                if ft.is_dir() {
                    if name != ".git" {
                        walk(base, &next, parts, out)?;
                    }
                } else if rest.is_empty() && is_file_like(&base.join(&next), Some(ft)) {
                    out.insert(next);
                }
            }
            Ok(())
        }
    }
}

/// The entries of a directory (none when it is missing), with their own type (symlinks are
/// not followed).
fn entries(dir: &Path) -> Result<Vec<(std::ffi::OsString, fs::FileType)>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
        out.push((e.file_name(), e.file_type()?));
    }
    Ok(out)
}

/// A regular file, or a symlink that does not point to a directory (a broken one included, to
/// be reported when its input is resolved). `known` is its own type when already read.
fn is_file_like(path: &Path, known: Option<fs::FileType>) -> bool {
    let Some(ft) = known.or_else(|| fs::symlink_metadata(path).ok().map(|md| md.file_type()))
    else {
        return false;
    };
    ft.is_file() || (ft.is_symlink() && !path.is_dir())
}
