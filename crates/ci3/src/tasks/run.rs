//! Running tasks: the command without a shell in the app dir, several at once, then its outputs
//! checked, digested, stored and sent to their destinations, and the run recorded (a failure
//! too, so that it is never taken for a success).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use super::docker;
use super::records::{self, OutputRecord, Record, RunResult, Upload};
use super::status::TaskStatus;
use super::targets::TaskRef;
use crate::report::Silent;
use crate::settings::Settings;
use crate::store::{names, Store};

/// How to run.
pub struct Options<'a> {
    /// Tasks run at once.
    pub parallel: usize,
    /// After a failure, start no more tasks.
    pub fail_fast: bool,
    /// Hand each line a task prints to `output`.
    pub show_output: bool,
    /// Neither store nor upload outputs, nor record the run.
    pub skip_upload: bool,
    pub git_commit: Option<String>,
    pub git_dirty: bool,
    /// The canonical repository root.
    pub root: &'a Path,
    pub settings: &'a Settings,
    pub store: &'a dyn Store,
    /// Signs the records written and checks those read.
    pub trust: &'a crate::trust::Trust,
    /// Total input digests of tasks named by TaskInfos inputs that are not themselves run.
    pub digests: &'a std::collections::HashMap<String, String>,
}

/// What happened to one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success {
        id: Option<String>,
    },
    Failure {
        id: Option<String>,
        why: String,
    },
    /// Not started: an earlier task failed and `fail_fast` was set.
    Skipped,
}

/// What a run says while it goes: progress lines, and task output when asked for.
pub trait Events: Sync {
    /// A progress line about task `task`.
    fn progress(&self, task: &str, line: &str);
    /// A line the task printed.
    fn output(&self, task: &str, line: &str);
}

/// Runs `tasks` (in order, `parallel` at a time); returns each task's outcome in the same order.
pub fn run_all(tasks: &[TaskStatus<'_>], opts: &Options<'_>, events: &dyn Events) -> Vec<Outcome> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..tasks.len()).collect());
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; tasks.len()]);
    let failed = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..opts.parallel.clamp(1, tasks.len().max(1)) {
            s.spawn(|| loop {
                let Some(i) = queue.lock().expect("queue").pop_front() else {
                    break;
                };
                let t = &tasks[i];
                let outcome = if opts.fail_fast && failed.load(Ordering::SeqCst) {
                    events.progress(
                        &t.task.id(),
                        "execution skipped: a previous task failed and --fail-fast was given",
                    );
                    Outcome::Skipped
                } else {
                    run_one(t, tasks, opts, events)
                };
                if matches!(outcome, Outcome::Failure { .. }) {
                    failed.store(true, Ordering::SeqCst);
                }
                outcomes.lock().expect("outcomes")[i] = Some(outcome);
            });
        }
    });
    outcomes
        .into_inner()
        .expect("outcomes")
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Skipped))
        .collect()
}

/// `1.234s`.
pub fn seconds(us: u64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

fn run_one(
    t: &TaskStatus<'_>,
    all: &[TaskStatus<'_>],
    opts: &Options<'_>,
    events: &dyn Events,
) -> Outcome {
    let id = t.task.id();
    let start = crate::clock::now_micros();
    let run_id = match records::new_run_id(start) {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failure {
                id: None,
                why: format!("{e:#}"),
            }
        }
    };
    let app_dir = opts.root.join(&t.task.app.dir);
    let info_dir = tempfile::tempdir();
    let executed = info_dir.map_err(anyhow::Error::from).and_then(|dir| {
        let env = task_info_files(t.task, all, opts, dir.path())?;
        let r = execute(t.task, &app_dir, opts, &env, events);
        drop(dir);
        r
    });
    let stop = crate::clock::now_micros();
    let (exit_code, mut error) = match executed {
        Ok(0) => (Some(0), None),
        Ok(code) => (Some(code), Some(format!("command exited with code {code}"))),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    match &error {
        None => events.progress(
            &id,
            &format!("execution successful ({})", seconds(stop - start)),
        ),
        Some(why) => events.progress(
            &id,
            &format!("execution failed ({}), {why}", seconds(stop - start)),
        ),
    }
    let mut outputs = Vec::new();
    if error.is_none() {
        match check_outputs(t.task, &app_dir, events) {
            Ok(found) => {
                if !opts.skip_upload {
                    for (name, path) in found {
                        match store_output(t, opts, &name, &path, events) {
                            Ok(o) => outputs.push(o),
                            Err(e) => {
                                error = Some(format!("{name}: {e:#}"));
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => error = Some(format!("{e:#}")),
        }
        if let Some(why) = &error {
            events.progress(&id, &format!("run failed: {why}"));
        }
    }
    let result = if error.is_none() {
        RunResult::Success
    } else {
        RunResult::Failure
    };
    if opts.skip_upload {
        return match error {
            None => Outcome::Success { id: None },
            Some(why) => Outcome::Failure { id: None, why },
        };
    }
    let record = Record {
        id: run_id.clone(),
        app: t.task.app.name.clone(),
        task: t.task.task.name.clone(),
        app_dir: t.task.app.dir.clone(),
        total_digest: t.resolved.total.clone(),
        inputs: t.resolved.inputs.clone(),
        outputs,
        start_us: start,
        stop_us: stop,
        result,
        exit_code,
        error: error.clone(),
        git_commit: opts.git_commit.clone(),
        git_dirty: opts.git_dirty,
        host: opts.settings.hostname.clone().or_else(hostname),
    };
    if let Err(e) = records::write(opts.store, opts.trust, &record) {
        let why = format!("recording the run failed: {e:#}");
        events.progress(&id, &why);
        return Outcome::Failure { id: None, why };
    }
    match error {
        None => {
            events.progress(&id, &format!("run stored with ID {run_id}"));
            Outcome::Success { id: Some(run_id) }
        }
        Some(why) => {
            events.progress(&id, &format!("failed run recorded with ID {run_id}"));
            Outcome::Failure {
                id: Some(run_id),
                why,
            }
        }
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskInfoFile {
    task_id: String,
    total_input_digest: String,
    app_dir: String,
    outputs: Vec<TaskInfoOutput>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskInfoOutput {
    name: String,
    digest: String,
    #[serde(rename = "URIs")]
    uris: Vec<String>,
}

/// The JSON file of every TaskInfos input, written into `dir`; returns the variables naming them.
fn task_info_files(
    t: TaskRef<'_>,
    all: &[TaskStatus<'_>],
    opts: &Options<'_>,
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>> {
    let mut env = Vec::new();
    for info in &t.task.inputs.task_infos {
        let other_id = format!("{}.{}", t.app.name, info.task_name);
        let digest = all
            .iter()
            .find(|s| s.task.id() == other_id)
            .map(|s| s.resolved.total.clone())
            .or_else(|| opts.digests.get(&other_id).cloned())
            .unwrap_or_default();
        let mut outputs = Vec::new();
        if !digest.is_empty() {
            let lookup = records::find_success(
                opts.store,
                opts.trust,
                &t.app.name,
                &info.task_name,
                &digest,
            )?;
            if let Some(found) = lookup.found {
                if let Some(r) = records::load(opts.store, opts.trust, &found.id)? {
                    outputs = r
                        .outputs
                        .into_iter()
                        .map(|o| TaskInfoOutput {
                            name: o.name,
                            digest: o.digest,
                            uris: o.uploads.into_iter().map(|u| u.uri).collect(),
                        })
                        .collect();
                }
            }
        }
        let file = TaskInfoFile {
            task_id: other_id.clone(),
            total_input_digest: digest,
            app_dir: opts.root.join(&t.app.dir).display().to_string(),
            outputs,
        };
        let path = dir.join(format!("{other_id}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&file)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        env.push((info.env_var.clone(), path));
    }
    Ok(env)
}

/// Runs the command; its exit code (`-1` when killed by a signal).
fn execute(
    t: TaskRef<'_>,
    app_dir: &Path,
    opts: &Options<'_>,
    env: &[(String, PathBuf)],
    events: &dyn Events,
) -> Result<i32> {
    let id = t.id();
    let argv = &t.task.command;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(app_dir)
        .env_clear()
        .envs(opts.settings.vars())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow!("cannot run {:?} in {}: {e}", argv[0], t.app.dir))?;
    let captured = Arc::new(Mutex::new(Vec::<u8>::new()));
    let pump = |stream: Box<dyn Read + Send>| {
        let captured = captured.clone();
        let id = id.clone();
        let show = opts.show_output;
        move || {
            let mut r = BufReader::new(stream);
            let mut line = Vec::new();
            while r.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if show {
                    events.output(&id, String::from_utf8_lossy(&line).trim_end_matches('\n'));
                }
                captured.lock().expect("output").extend_from_slice(&line);
                line.clear();
            }
        }
    };
    let out = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    let err = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    let status = std::thread::scope(|s| {
        if let Some(o) = out {
            s.spawn(pump(o));
        }
        if let Some(e) = err {
            s.spawn(pump(e));
        }
        child.wait()
    })?;
    let code = status.code().unwrap_or(-1);
    if code != 0 && !opts.show_output {
        let text = String::from_utf8_lossy(&captured.lock().expect("output")).into_owned();
        for line in text.lines() {
            events.output(&id, line);
        }
    }
    Ok(code)
}

/// The declared outputs, each of which must exist now: `(name, path)`.
fn check_outputs(
    t: TaskRef<'_>,
    app_dir: &Path,
    events: &dyn Events,
) -> Result<Vec<(String, PathBuf)>> {
    let id = t.id();
    let outs = &t.task.outputs;
    if outs.files.is_empty() && outs.docker_images.is_empty() {
        events.progress(&id, "does not produce outputs");
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let declared = outs
        .files
        .iter()
        .map(|f| (format!("file:{}", f.path), &f.path))
        .chain(
            outs.docker_images
                .iter()
                .map(|d| (format!("docker:{}", d.idfile), &d.idfile)),
        );
    for (name, rel) in declared {
        let path = app_dir.join(rel);
        match std::fs::metadata(&path) {
            Ok(md) if md.is_file() => {
                events.progress(&id, &format!("created {rel} (size: {} B)", md.len()));
                found.push((name, path));
            }
            _ => {
                events.progress(
                    &id,
                    &format!("has {rel} as output defined but it was not created by the task run"),
                );
                missing.push(rel.clone());
            }
        }
    }
    if !missing.is_empty() {
        bail!("outputs not created: {}", missing.join(", "));
    }
    Ok(found)
}

/// Digests an output, stores it in the store by its digest, and copies and uploads it where
/// the configuration says.
fn store_output(
    t: &TaskStatus<'_>,
    opts: &Options<'_>,
    name: &str,
    path: &Path,
    events: &dyn Events,
) -> Result<OutputRecord> {
    let id = t.task.id();
    if let Some(idfile) = name.strip_prefix("docker:") {
        return push_image(t, opts, idfile, path, events);
    }
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = blake3::Hasher::new();
    let size = std::io::copy(&mut file, &mut h)?;
    let hex = h.finalize().to_hex().to_string();
    let object = format!("{}outputs/{hex}", names::RUNS);
    let mut uploads = Vec::new();
    timed(&mut uploads, format!("ci3-store:{object}"), || {
        opts.store.put_file(&object, path, true)?;
        Ok(())
    })?;
    if let Some(f) = t
        .task
        .task
        .outputs
        .files
        .iter()
        .find(|f| name == format!("file:{}", f.path))
    {
        for c in &f.file_copy {
            let dest_dir = opts.root.join(&t.task.app.dir).join(&c.path);
            std::fs::create_dir_all(&dest_dir)
                .with_context(|| format!("cannot create {}", dest_dir.display()))?;
            let base = path
                .file_name()
                .ok_or_else(|| anyhow!("{}: no file name", path.display()))?;
            let dest = dest_dir.join(base);
            timed(&mut uploads, format!("file://{}", dest.display()), || {
                std::fs::copy(path, &dest)
                    .with_context(|| format!("cannot copy to {}", dest.display()))?;
                Ok(())
            })?;
            events.progress(&id, &format!("{} copied to {}", f.path, dest.display()));
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
                selected.store.put_file(&s3.key, path, false)?;
                Ok(())
            })?;
            events.progress(&id, &format!("{} uploaded to {url}", f.path));
        }
    }
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    };
    Ok(OutputRecord {
        name: name.to_string(),
        digest: format!("blake3:{hex}"),
        size,
        mode,
        uploads,
    })
}

/// A docker image output: its id read from the id file, tagged and pushed with the docker CLI
/// for each registry upload. The image id is the output's digest: the image itself stays in
/// the docker engine and its registries, not in the store.
fn push_image(
    t: &TaskStatus<'_>,
    opts: &Options<'_>,
    idfile: &str,
    path: &Path,
    events: &dyn Events,
) -> Result<OutputRecord> {
    let id = t.task.id();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let image = text.trim();
    let hex = image.strip_prefix("sha256:").unwrap_or(image);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() > 64 {
        bail!("{idfile}: not a docker image id: {image:?}");
    }
    let decl = t
        .task
        .task
        .outputs
        .docker_images
        .iter()
        .find(|d| d.idfile == idfile)
        .ok_or_else(|| anyhow!("{idfile}: not a declared docker image output"))?;
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
        events.progress(&id, &format!("image {image} pushed to {name}"));
    }
    Ok(OutputRecord {
        name: format!("docker:{idfile}"),
        digest: image.to_string(),
        size: 0,
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
