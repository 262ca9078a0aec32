//! Loading `.baur.toml` and `.app.toml` files: parse, expand templates, merge includes,
//! validate. Every error is one line starting with the file (relative to the root) and
//! naming the field, so a user can fix it without reading code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::Result;

use super::model::*;
use super::names::check_name;
use super::paths;
use super::raw::{self, AppFile, IncludeFile, InputDef, OutputDef, RepoFile, TaskDef, VersionOnly};
use super::template::Context;

pub const REPO_CONFIG: &str = ".baur.toml";
pub const APP_CONFIG: &str = ".app.toml";
/// The version `init` would write.
pub const CONFIG_VERSION: i64 = 7;
/// The versions read: the app file format is the same in all three, and real repositories still
/// carry 5 and 6.
pub const CONFIG_VERSIONS: [i64; 3] = [5, 6, 7];
pub const MAX_SEARCH_DEPTH: i64 = 10;

/// Reads `ROOT/.baur.toml`.
pub fn load_repo_config(root: &Path) -> Result<RepoConfig> {
    let shown = REPO_CONFIG;
    let text = read(&root.join(REPO_CONFIG), shown)?;
    let version: VersionOnly = raw::parse(shown, &text)?;
    match version.config_version {
        Some(toml::Value::Integer(v)) if CONFIG_VERSIONS.contains(&v) => {}
        None => crate::fail!(
            Config,
            "{shown}: config_version: missing (expected 5, 6 or 7)"
        ),
        Some(v) => {
            crate::fail!(
                Config,
                "{shown}: config_version: {v} is not supported (expected 5, 6 or 7)"
            )
        }
    }
    let file: RepoFile = raw::parse(shown, &text)?;
    let d = file.discover;
    if d.application_dirs.is_empty() {
        crate::fail!(
            Config,
            "{shown}: Discover.application_dirs: must not be empty"
        );
    }
    let mut application_dirs = Vec::new();
    for (i, dir) in d.application_dirs.iter().enumerate() {
        match paths::join(".", dir).filter(|_| !dir.is_empty() && !dir.starts_with('/')) {
            Some(dir) => application_dirs.push(dir),
            None => crate::fail!(Config,
                "{shown}: Discover.application_dirs[{i}]: \"{dir}\" is not a directory inside the repository"
            ),
        }
    }
    if !(0..=MAX_SEARCH_DEPTH).contains(&d.search_depth) {
        crate::fail!(
            Config,
            "{shown}: Discover.search_depth: {} is out of range 0..={MAX_SEARCH_DEPTH}",
            d.search_depth
        );
    }
    let mut notices = Vec::new();
    if file.database.is_some() {
        notices.push(format!(
            "notice: [Database] in {shown} is ignored: runs are recorded in the store"
        ));
    }
    Ok(RepoConfig {
        application_dirs,
        search_depth: d.search_depth as u32,
        notices,
    })
}

/// Loads every app found by discovery, in the same order.
pub fn load_apps(ctx: &Context, apps: &[AppDir]) -> Result<Vec<App>> {
    apps.iter().map(|a| load_app(ctx, a)).collect()
}

/// Loads one app: its tasks with templates expanded (`ctx` gives the root and the git
/// commit) and includes merged.
pub fn load_app(ctx: &Context, app: &AppDir) -> Result<App> {
    let source = Source {
        shown: paths::shown(ctx.root(), &app.config_file),
        path: app.config_file.clone(),
    };
    let def: AppFile = parse_file(&source)?;
    check_name(&source.shown, "name", &def.name)?;
    let mut loader = Loader {
        ctx,
        app_name: &def.name,
        app_dir: &app.dir,
        app_file: &source,
        includes: HashMap::new(),
    };
    // (task, where it came from: for duplicate messages)
    let mut tasks: Vec<(Task, String)> = Vec::new();
    for (i, t) in def.tasks.iter().enumerate() {
        let label = format!("Task[{i}]");
        if t.include_id.is_some() {
            crate::fail!(
                Config,
                "{}: {label}.include_id: only tasks of include files have an include id",
                source.shown
            );
        }
        tasks.push((loader.task(t, &source, &label)?, format!("{label}.name")));
    }
    for (i, reference) in def.includes.iter().enumerate() {
        let field = format!("includes[{i}]");
        let (inc, id) = loader.reference(&source, &field, reference)?;
        let found: Vec<(usize, &TaskDef)> = inc
            .def
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.include_id.as_deref() == Some(id.as_str()))
            .collect();
        if found.is_empty() {
            crate::fail!(
                Config,
                "{}: {field}: no [[Task]] with include_id \"{id}\" in {}",
                source.shown,
                inc.source.shown
            );
        }
        for (j, t) in found {
            tasks.push((
                loader.task(t, &inc.source, &format!("Task[{j}]"))?,
                field.clone(),
            ));
        }
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (task, origin) in &tasks {
        if let Some(first) = seen.insert(&task.name, origin) {
            crate::fail!(
                Config,
                "{}: {origin}: duplicate task name \"{}\" (also {first})",
                source.shown,
                task.name
            );
        }
    }
    let tasks: Vec<Task> = tasks.into_iter().map(|(t, _)| t).collect();
    check_task_infos(&source.shown, &tasks)?;
    Ok(App {
        name: def.name.clone(),
        dir: app.dir.clone(),
        tasks,
    })
}

/// A TaskInfos input names another task of the same app, and following them never comes back:
/// a task's digest includes the digests it names, so a cycle has none.
fn check_task_infos(shown: &str, tasks: &[Task]) -> Result<()> {
    let index = |name: &str| tasks.iter().position(|t| t.name == name);
    for t in tasks {
        for (i, info) in t.inputs.task_infos.iter().enumerate() {
            if index(&info.task_name).is_none() {
                crate::fail!(Config,
                    "{shown}: Task \"{}\".Input.TaskInfos[{i}].task_name: no task \"{}\" in this app",
                    t.name,
                    info.task_name
                );
            }
        }
    }
    // Depth-first from each task; `path` is the chain being followed; the cycle met, if any.
    fn visit<'t>(
        tasks: &'t [Task],
        at: usize,
        path: &mut Vec<&'t str>,
        done: &mut [bool],
    ) -> Option<String> {
        if done[at] {
            return None;
        }
        let name = tasks[at].name.as_str();
        if let Some(start) = path.iter().position(|n| *n == name) {
            let mut cycle = path[start..].to_vec();
            cycle.push(name);
            return Some(cycle.join(" -> "));
        }
        path.push(name);
        for info in &tasks[at].inputs.task_infos {
            if let Some(next) = tasks.iter().position(|t| t.name == info.task_name) {
                if let Some(cycle) = visit(tasks, next, path, done) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        done[at] = true;
        None
    }
    let mut done = vec![false; tasks.len()];
    for at in 0..tasks.len() {
        if let Some(cycle) = visit(tasks, at, &mut Vec::new(), &mut done) {
            let first = cycle.split(" -> ").next().unwrap_or_default();
            crate::fail!(
                Config,
                "{shown}: Task \"{first}\".Input.TaskInfos: cycle {cycle}"
            );
        }
    }
    Ok(())
}

/// Reads only what discovery needs (the name), validating the whole file on the way so that a
/// broken app is reported before anything runs.
pub(super) fn app_name(root: &Path, config_file: &Path) -> Result<String> {
    let source = Source {
        shown: paths::shown(root, config_file),
        path: config_file.to_path_buf(),
    };
    let def: AppFile = parse_file(&source)?;
    check_name(&source.shown, "name", &def.name)?;
    Ok(def.name)
}

/// A configuration file: where it is, and how messages name it.
struct Source {
    path: PathBuf,
    shown: String,
}

struct Included {
    source: Source,
    def: IncludeFile,
}

/// The state of loading one app: include files are read once however often they are used.
struct Loader<'a> {
    ctx: &'a Context<'a>,
    app_name: &'a str,
    app_dir: &'a str,
    app_file: &'a Source,
    includes: HashMap<PathBuf, Rc<Included>>,
}

impl Loader<'_> {
    fn expand(&self, src: &Source, field: &str, text: &str) -> Result<String> {
        self.ctx
            .expand(text, self.app_name)
            .map_err(|e| e.context(format!("{}: {field}", src.shown)))
    }

    /// A task defined in `src` (the app file or an include file); `label` names it by
    /// position until its name is known.
    fn task(&mut self, def: &TaskDef, src: &Source, label: &str) -> Result<Task> {
        check_name(&src.shown, &format!("{label}.name"), &def.name)?;
        let p = format!("Task \"{}\"", def.name);
        if def.command.is_empty() {
            crate::fail!(Config, "{}: {p}.command: must not be empty", src.shown);
        }
        let mut command = Vec::new();
        for (i, arg) in def.command.iter().enumerate() {
            command.push(self.expand(src, &format!("{p}.command[{i}]"), arg)?);
        }
        if command[0].is_empty() {
            crate::fail!(Config, "{}: {p}.command[0]: must not be empty", src.shown);
        }
        let mut config_files = vec![self.app_file.shown.clone()];
        add_once(&mut config_files, &src.shown);
        let mut inputs = Inputs::default();
        let mut outputs = Outputs::default();
        if let Some(input) = &def.input {
            if input.include_id.is_some() {
                crate::fail!(
                    Config,
                    "{}: {p}.Input.include_id: only [[Input]] of include files has an include id",
                    src.shown
                );
            }
            self.input(input, src, &format!("{p}.Input"), &mut inputs)?;
        }
        if let Some(output) = &def.output {
            if output.include_id.is_some() {
                crate::fail!(
                    Config,
                    "{}: {p}.Output.include_id: only [[Output]] of include files has an include id",
                    src.shown
                );
            }
            self.output(output, src, &format!("{p}.Output"), &mut outputs)?;
        }
        for (i, reference) in def.includes.iter().enumerate() {
            let field = format!("{p}.includes[{i}]");
            let (inc, id) = self.reference(src, &field, reference)?;
            let mut used = false;
            for (j, input) in inc.def.inputs.iter().enumerate() {
                if input.include_id.as_deref() == Some(id.as_str()) {
                    self.input(input, &inc.source, &format!("Input[{j}]"), &mut inputs)?;
                    used = true;
                }
            }
            for (j, output) in inc.def.outputs.iter().enumerate() {
                if output.include_id.as_deref() == Some(id.as_str()) {
                    self.output(output, &inc.source, &format!("Output[{j}]"), &mut outputs)?;
                    used = true;
                }
            }
            if !used {
                crate::fail!(
                    Config,
                    "{}: {field}: no [[Input]] or [[Output]] with include_id \"{id}\" in {}",
                    src.shown,
                    inc.source.shown
                );
            }
            add_once(&mut config_files, &inc.source.shown);
        }
        Ok(Task {
            name: def.name.clone(),
            command,
            inputs,
            outputs,
            config_files,
        })
    }

    fn input(&self, def: &InputDef, src: &Source, p: &str, out: &mut Inputs) -> Result<()> {
        let shown = &src.shown;
        for (i, go) in def.golang_sources.iter().enumerate() {
            let field = format!("{p}.GolangSources[{i}]");
            if go.queries.is_empty() {
                crate::fail!(Config, "{shown}: {field}.queries: must not be empty");
            }
            let expanded = |what: &str, list: &[String]| -> Result<Vec<String>> {
                list.iter()
                    .enumerate()
                    .map(|(j, v)| self.expand(src, &format!("{field}.{what}[{j}]"), v))
                    .collect()
            };
            let queries = expanded("queries", &go.queries)?;
            let environment = expanded("environment", &go.environment)?;
            let build_flags = expanded("build_flags", &go.build_flags)?;
            if let Some(j) = environment.iter().position(|e| !e.contains('=')) {
                crate::fail!(
                    Config,
                    "{shown}: {field}.environment[{j}]: \"{}\" is not of the form NAME=VALUE",
                    environment[j]
                );
            }
            out.golang.push(GolangInput {
                queries,
                environment,
                build_flags,
                tests: go.tests,
            });
        }
        for (i, info) in def.task_infos.iter().enumerate() {
            let field = format!("{p}.TaskInfos[{i}]");
            if info.task_name.is_empty() {
                crate::fail!(Config, "{shown}: {field}.task_name: must not be empty");
            }
            if info.env_var.is_empty() || info.env_var.contains(['=', '\0']) {
                crate::fail!(Config, "{shown}: {field}.env_var: must be a variable name");
            }
            out.task_infos.push(TaskInfoInput {
                task_name: self.expand(src, &format!("{field}.task_name"), &info.task_name)?,
                env_var: info.env_var.clone(),
            });
        }
        for (i, files) in def.files.iter().enumerate() {
            let field = format!("{p}.Files[{i}].paths");
            if files.paths.is_empty() {
                crate::fail!(Config, "{shown}: {field}: must not be empty");
            }
            out.files.push(FileInput {
                paths: self.input_paths(src, &field, &files.paths)?,
                optional: files.optional,
                git_tracked_only: files.git_tracked_only,
            });
        }
        if let Some(excluded) = &def.excluded_files {
            let field = format!("{p}.ExcludedFiles.paths");
            let paths = self.input_paths(src, &field, &excluded.paths)?;
            out.excluded.extend(paths);
        }
        for (i, vars) in def.env_vars.iter().enumerate() {
            let field = format!("{p}.EnvironmentVariables[{i}].names");
            if vars.names.is_empty() {
                crate::fail!(Config, "{shown}: {field}: must not be empty");
            }
            let mut names = Vec::new();
            for (j, name) in vars.names.iter().enumerate() {
                let field = format!("{field}[{j}]");
                let name = self.expand(src, &field, name)?;
                if name.is_empty() {
                    crate::fail!(Config, "{shown}: {field}: must not be empty");
                }
                names.push(name);
            }
            out.env_vars.push(EnvVarInput {
                names,
                optional: vars.optional,
            });
        }
        Ok(())
    }

    /// Globs written relative to the app dir (also in include files: an include is textual),
    /// returned relative to the root.
    fn input_paths(&self, src: &Source, field: &str, written: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (i, path) in written.iter().enumerate() {
            let field = format!("{field}[{i}]");
            let path = self.expand(src, &field, path)?;
            let rel = paths::in_repo(self.ctx.root(), self.app_dir, &path)
                .map_err(|e| e.context(format!("{}: {field}", src.shown)))?;
            if let Err(e) = globset::Glob::new(&rel) {
                crate::fail!(
                    Config,
                    "{}: {field}: invalid glob \"{path}\": {}",
                    src.shown,
                    e.kind()
                );
            }
            out.push(rel);
        }
        Ok(out)
    }

    fn output(&self, def: &OutputDef, src: &Source, p: &str, out: &mut Outputs) -> Result<()> {
        let text = |field: String, value: &str| -> Result<String> {
            let v = self.expand(src, &field, value)?;
            if v.is_empty() {
                crate::fail!(Config, "{}: {field}: must not be empty", src.shown);
            }
            Ok(v)
        };
        for (i, f) in def.files.iter().enumerate() {
            let fp = format!("{p}.File[{i}]");
            let mut file_copy = Vec::new();
            for (j, c) in f.file_copy.iter().enumerate() {
                file_copy.push(FileCopy {
                    path: text(format!("{fp}.FileCopy[{j}].path"), &c.path)?,
                });
            }
            let mut s3_upload = Vec::new();
            for (j, s) in f.s3_upload.iter().enumerate() {
                s3_upload.push(S3Upload {
                    bucket: text(format!("{fp}.S3Upload[{j}].bucket"), &s.bucket)?,
                    key: text(format!("{fp}.S3Upload[{j}].key"), &s.key)?,
                });
            }
            out.files.push(FileOutput {
                path: self.output_path(
                    src,
                    &format!("{fp}.path"),
                    text(format!("{fp}.path"), &f.path)?,
                )?,
                file_copy,
                s3_upload,
            });
        }
        for (i, d) in def.docker_images.iter().enumerate() {
            let dp = format!("{p}.DockerImage[{i}]");
            let mut registry_upload = Vec::new();
            for (j, r) in d.registry_upload.iter().enumerate() {
                let rp = format!("{dp}.RegistryUpload[{j}]");
                registry_upload.push(RegistryUpload {
                    registry: self.expand(src, &format!("{rp}.registry"), &r.registry)?,
                    repository: text(format!("{rp}.repository"), &r.repository)?,
                    tag: text(format!("{rp}.tag"), &r.tag)?,
                });
            }
            out.docker_images.push(DockerImageOutput {
                idfile: self.output_path(
                    src,
                    &format!("{dp}.idfile"),
                    text(format!("{dp}.idfile"), &d.idfile)?,
                )?,
                registry_upload,
            });
        }
        Ok(())
    }

    /// An output's file, written relative to the app dir: refused when it leaves it.
    fn output_path(&self, src: &Source, field: &str, path: String) -> Result<String> {
        paths::in_app_dir(self.ctx.root(), self.app_dir, &path)
            .map_err(|e| e.context(format!("{}: {field}", src.shown)))
    }

    /// Resolves `PATH#ID` written in `src`: a relative PATH is relative to `src`'s directory.
    fn reference(
        &mut self,
        src: &Source,
        field: &str,
        written: &str,
    ) -> Result<(Rc<Included>, String)> {
        let expanded = self.expand(src, field, written)?;
        let Some((path, id)) = expanded
            .rsplit_once('#')
            .filter(|(p, id)| !p.is_empty() && !id.is_empty())
        else {
            crate::fail!(
                Config,
                "{}: {field}: \"{expanded}\" is not of the form PATH#ID",
                src.shown
            );
        };
        let dir = src.path.parent().unwrap_or(Path::new("/"));
        let path = paths::normalize(&dir.join(path));
        let root = self.ctx.root();
        if !path.starts_with(root) {
            crate::fail!(
                Config,
                "{}: {field}: include file {} is outside the repository",
                src.shown,
                path.display()
            );
        }
        if let Some(inc) = self.includes.get(&path) {
            return Ok((inc.clone(), id.to_string()));
        }
        let source = Source {
            shown: paths::shown(root, &path),
            path: path.clone(),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            crate::err!(
                Config,
                "{}: {field}: cannot read {}: {e}",
                src.shown,
                source.shown
            )
        })?;
        let def: IncludeFile = raw::parse(&source.shown, &text)?;
        check_include_ids(
            &source.shown,
            "Input",
            def.inputs.iter().map(|d| &d.include_id),
        )?;
        check_include_ids(
            &source.shown,
            "Output",
            def.outputs.iter().map(|d| &d.include_id),
        )?;
        check_include_ids(
            &source.shown,
            "Task",
            def.tasks.iter().map(|d| &d.include_id),
        )?;
        let inc = Rc::new(Included { source, def });
        self.includes.insert(path, inc.clone());
        Ok((inc, id.to_string()))
    }
}

/// Every entry of an include file needs an id, and one id names one entry of a kind.
fn check_include_ids<'a>(
    shown: &str,
    kind: &str,
    ids: impl Iterator<Item = &'a Option<String>>,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for (i, id) in ids.enumerate() {
        match id.as_deref() {
            None | Some("") => {
                crate::fail!(Config, "{shown}: {kind}[{i}].include_id: must not be empty")
            }
            Some(id) if !seen.insert(id) => {
                crate::fail!(
                    Config,
                    "{shown}: {kind}[{i}].include_id: duplicate include id \"{id}\""
                )
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn add_once(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

fn read(path: &Path, shown: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| crate::err!(Config, "{shown}: cannot read: {e}"))
}

fn parse_file<T: serde::de::DeserializeOwned>(src: &Source) -> Result<T> {
    let text = read(&src.path, &src.shown)?;
    raw::parse(&src.shown, &text)
}
