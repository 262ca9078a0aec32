//! Resolving a task's inputs against one read of the index and the environment.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::globs::{glob, glob_files, glob_set, is_glob};
use super::{digest, string_input, total_digest, Input, InputKind, Resolved};
use crate::git::{blob_id_of_reader, Checkout, FileIds, Mode};
use crate::settings::Settings;
use crate::tasks::config::model::{App, Task};
use crate::tasks::config::TaskRef;
use crate::{Result, ResultExt};

/// Resolves the inputs of any number of tasks against one read of the index.
pub struct Resolver<'a> {
    root: PathBuf,
    settings: &'a Settings,
    files: FileIds<'a>,
    input_strs: Vec<String>,
    done: Mutex<HashMap<String, Resolved>>,
    /// Directories met (relative to the root), each with whether it is where its path says
    /// (no symlink on the way), so that each is resolved once.
    real_dirs: Mutex<HashMap<String, bool>>,
    /// Paths tasks' outputs write: an input matching one is not an error while absent.
    produced: RwLock<Vec<String>>,
    /// Outputs of upstream runs that are absent on disk, by path relative to the root, as
    /// inputs: what those files were when the runs recorded them.
    assumed: RwLock<HashMap<String, Input>>,
    /// Untracked files, hashed from their bytes, by path relative to the root: an upstream
    /// output is an input of every task downstream, read once for all of them. A slot each,
    /// locked while it is read, so that tasks resolved at once wait for one read.
    hashed: Mutex<HashMap<String, Slot>>,
}

type Slot = Arc<Mutex<Option<Input>>>;

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
            produced: RwLock::new(Vec::new()),
            assumed: RwLock::new(HashMap::new()),
            hashed: Mutex::new(HashMap::new()),
        }
    }

    /// A resolver for the checkout `co` of the repository at `root` (its index read here).
    pub fn open(
        root: &Path,
        co: &'a Checkout,
        settings: &'a Settings,
        input_strs: &[String],
    ) -> Result<Self> {
        Ok(Resolver::new(
            root,
            settings,
            FileIds::open(co)?,
            input_strs,
        ))
    }

    /// The repository root the inputs are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Paths (relative to the root) that tasks' outputs write: a non-optional input matching
    /// none of the files but one of these is the output of a task that has not run yet.
    pub fn expect_produced(&self, paths: &[String]) {
        *self.produced.write().expect("resolver") = paths.to_vec();
    }

    /// Drops what was resolved for the task `id`, so that the next `resolve` reads the work
    /// tree again (after the tasks it depends on wrote their outputs).
    pub fn forget(&self, id: &str) {
        self.done.lock().expect("resolver").remove(id);
    }

    /// Says that files of the work tree may have changed (a task ran, outputs were restored):
    /// the files hashed so far are read again when next asked for.
    /// A read still running keeps its slot, no longer in the map: what it finds is not kept.
    pub fn files_changed(&self) {
        self.hashed.lock().expect("resolver").clear();
    }

    /// Files absent from the work tree taken as these inputs (their `name` the path relative to
    /// the root): the outputs an upstream run recorded, so that a task is evaluated on them
    /// without restoring them. A file present on disk is read as usual.
    pub fn assume_files(&self, files: impl IntoIterator<Item = Input>) {
        let mut assumed = self.assumed.write().expect("resolver");
        for f in files {
            assumed.insert(f.name.clone(), f);
        }
    }

    fn is_produced(&self, pattern: &str) -> bool {
        let produced = self.produced.read().expect("resolver");
        if produced.is_empty() {
            return false;
        }
        match glob(pattern) {
            Ok(m) => produced.iter().any(|p| m.is_match(p)),
            Err(_) => false,
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
            .map_err(|e| e.context(&id))?;
        Ok(r)
    }

    fn compute(&self, app: &App, task: &Task, chain: &mut Vec<String>) -> Result<Resolved> {
        let id = format!("{}.{}", app.name, task.name);
        if let Some(r) = self.done.lock().expect("resolver").get(&id) {
            return Ok(r.clone());
        }
        if chain.contains(&id) {
            crate::fail!(Failed, "TaskInfos cycle through {id}");
        }
        chain.push(id.clone());
        let mut inputs = Vec::new();
        // Sorted and deduplicated once at the end: a set kept ordered file by file costs more.
        let mut paths: Vec<String> = Vec::new();
        for f in &task.inputs.files {
            for pattern in &f.paths {
                let mut found = Vec::new();
                // An untracked path read as the input it is: one lstat where the glob and then
                // the input each took one, none once another task read it. Any other outcome
                // is left to the glob, whose rules say what is found.
                if !f.git_tracked_only
                    && is_plain(pattern)
                    && !self.files.is_tracked(pattern.as_bytes())
                    && self.file(pattern, &mut DirCheck::default()).is_ok()
                {
                    found.push(pattern.clone());
                } else {
                    let mut files = Vec::new();
                    glob_files(&self.root, pattern, &mut files)?;
                    found.extend(files.into_iter().map(|p| {
                        p.into_os_string()
                            .into_string()
                            .unwrap_or_else(|p| p.to_string_lossy().into_owned())
                    }));
                    found.sort_unstable();
                    found.dedup();
                }
                if f.git_tracked_only {
                    found.retain(|p| self.files.is_tracked(p.as_bytes()));
                } else {
                    self.add_assumed(pattern, &mut found)?;
                }
                if found.is_empty() && !f.optional && !self.is_produced(pattern) {
                    crate::fail!(Failed,
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
                .map_err(|e| e.context(format!("{}: GolangSources", task.config_files[0])))?;
            for file in files {
                let rel = file.strip_prefix(&self.root).map_err(|_| {
                    crate::err!(
                        Failed,
                        "{}: GolangSources: {} is outside the repository",
                        task.config_files[0],
                        file.display()
                    )
                })?;
                paths.push(rel.to_string_lossy().into_owned());
            }
        }
        if !task.inputs.excluded.is_empty() {
            let set = glob_set(&task.inputs.excluded)?;
            paths.retain(|p| !set.is_match(p));
        }
        paths.extend(task.config_files.iter().cloned());
        paths.sort_unstable();
        paths.dedup();
        inputs.reserve(paths.len());
        let mut dir = DirCheck::default();
        for p in &paths {
            inputs.push(self.file(p, &mut dir)?);
        }
        for vars in &task.inputs.env_vars {
            for name in &vars.names {
                let found = self.env(name);
                if found.is_empty() && !vars.optional {
                    crate::fail!(
                        Failed,
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
                .ok_or_else(|| {
                    crate::err!(Failed, "no task {} in app {}", info.task_name, app.name)
                })?;
            let r = self.compute(app, other, chain)?;
            let other_id = format!("{}.{}", app.name, other.name);
            inputs.push(Input {
                kind: InputKind::Task,
                digest: digest(
                    InputKind::Task,
                    &[other_id.as_bytes(), r.total.prefixed().as_bytes()],
                ),
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

    /// The assumed files `pattern` matches that are not on disk, added to `found`.
    fn add_assumed(&self, pattern: &str, found: &mut Vec<String>) -> Result<()> {
        let assumed = self.assumed.read().expect("resolver");
        if assumed.is_empty() {
            return Ok(());
        }
        let pattern = pattern.trim_start_matches("./");
        let m = if is_glob(pattern) {
            Some(glob(pattern)?)
        } else {
            None
        };
        for rel in assumed.keys() {
            let hit = match &m {
                Some(m) => m.is_match(rel),
                None => rel == pattern,
            };
            if hit && !found.contains(rel) && !self.root.join(rel).exists() {
                found.push(rel.clone());
            }
        }
        Ok(())
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
    /// Untracked ones are read once until the work tree changes ([`Resolver::files_changed`]).
    fn file(&self, rel: &str, dir: &mut DirCheck) -> Result<Input> {
        if self.files.is_tracked(rel.as_bytes()) {
            return self.read_file(rel, dir);
        }
        let slot = Arc::clone(
            self.hashed
                .lock()
                .expect("resolver")
                .entry(rel.to_string())
                .or_default(),
        );
        let mut slot = slot.lock().expect("resolver");
        if let Some(f) = &*slot {
            return Ok(f.clone());
        }
        let f = self.read_file(rel, dir)?;
        *slot = Some(f.clone());
        Ok(f)
    }

    fn read_file(&self, rel: &str, dir: &mut DirCheck) -> Result<Input> {
        let abs = self.root.join(rel);
        let md = match fs::symlink_metadata(&abs) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if let Some(f) = self.assumed.read().expect("resolver").get(rel) {
                    return Ok(f.clone());
                }
                Err(e)
            }
            r => r,
        };
        let md = md.with_context(|| format!("cannot stat {rel}"))?;
        let (real, exec, id) =
            if md.file_type().is_symlink() || !self.is_real_dir(rel, &abs, dir)? {
                let real = match fs::canonicalize(&abs) {
                    Ok(real) => real,
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        crate::fail!(Failed, "{rel}: broken symbolic link")
                    }
                    Err(e) => crate::fail!(Failed, "{rel}: {e}"),
                };
                let target = fs::metadata(&real).with_context(|| format!("cannot stat {rel}"))?;
                if !target.is_file() {
                    crate::fail!(Failed, "{rel}: not a file");
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
                    .ok_or_else(|| crate::err!(Failed, "{rel}: not a file"))?;
                (String::new(), f.mode == Mode::Executable, f.id)
            };
        let mut hex = [0u8; 64];
        Ok(file_input(rel, &real, exec, id.hex_to_buf(&mut hex)))
    }

    /// Whether the directory of `rel` (at `abs`) is where its path says, no symlink on the way.
    /// Asked once per directory: `dir` remembers the last answer (a task's paths come sorted,
    /// a directory's files together), the resolver every directory any task met.
    fn is_real_dir(&self, rel: &str, abs: &Path, dir: &mut DirCheck) -> Result<bool> {
        let rel_dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        if let Some((last, real)) = &dir.last {
            if last == rel_dir {
                return Ok(*real);
            }
        }
        let parent = abs.parent().unwrap_or(&self.root);
        let real = self.real_dir(rel_dir, parent)?;
        dir.last = Some((rel_dir.to_string(), real));
        Ok(real)
    }

    /// Whether `rel_dir` (at `abs_dir`) is where its path says: a directory below the root is
    /// when its parent is and it is no symlink itself; one lstat per directory, where
    /// canonicalising each would read every component of its path again.
    fn real_dir(&self, rel_dir: &str, abs_dir: &Path) -> Result<bool> {
        if let Some(&real) = self.real_dirs.lock().expect("resolver").get(rel_dir) {
            return Ok(real);
        }
        let plain = rel_dir
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
        let real = if plain {
            let (up, _) = rel_dir.rsplit_once('/').unwrap_or(("", rel_dir));
            let up_abs = abs_dir.parent().unwrap_or(&self.root);
            self.real_dir(up, up_abs)?
                && !fs::symlink_metadata(abs_dir)
                    .with_context(|| abs_dir.display())?
                    .file_type()
                    .is_symlink()
        } else {
            fs::canonicalize(abs_dir).with_context(|| abs_dir.display())? == abs_dir
        };
        self.real_dirs
            .lock()
            .expect("resolver")
            .insert(rel_dir.to_string(), real);
        Ok(real)
    }
}

/// A pattern naming one path as the resolver names files: no glob, no `.` or empty component.
fn is_plain(pattern: &str) -> bool {
    !is_glob(pattern) && pattern.split('/').all(|c| !c.is_empty() && c != ".")
}

/// The last directory [`Resolver::is_real_dir`] answered for, within one task's files.
#[derive(Default)]
struct DirCheck {
    last: Option<(String, bool)>,
}

/// A file's input from its path relative to the root, where it really is (empty when that is
/// the path itself), its executable bit and its git blob id.
pub fn file_input(rel: &str, real: &str, exec: bool, blob_id: &str) -> Input {
    Input {
        kind: InputKind::File,
        digest: digest(
            InputKind::File,
            &[
                rel.as_bytes(),
                real.as_bytes(),
                if exec { b"x" } else { b"-" },
                blob_id.as_bytes(),
            ],
        ),
        name: rel.to_string(),
    }
}
