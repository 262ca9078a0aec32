//! `task_run --trace`: each task's command run under the tracer, what it touched kept by task,
//! then compared with the task's declared inputs and outputs.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use super::report::{self, Findings, Seen};
use globset::GlobSet;

use crate::tasks::inputs::{globs, InputKind};
use crate::tasks::status::TaskStatus;
use crate::Result;

/// The traces of the tasks of one run, by task id.
pub struct Tasks {
    root: PathBuf,
    opts: super::Options,
    seen: Mutex<Vec<(String, Seen)>>,
}

/// One task's findings.
#[derive(Debug, Serialize)]
pub struct TaskFindings {
    pub task: String,
    #[serde(flatten)]
    pub findings: Findings,
}

impl Tasks {
    /// For the repository at `root` (canonical); `opts.all` lists the reads outside it too,
    /// `opts.probes` traces and reports the paths only probed.
    pub fn new(root: &Path, opts: super::Options) -> Self {
        Tasks {
            root: root.to_path_buf(),
            opts,
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl crate::tasks::run::Tracer for Tasks {
    fn run(
        &self,
        id: &str,
        cmd: &std::process::Command,
        out: &OwnedFd,
    ) -> Result<(libc::pid_t, i32)> {
        let mut argv = vec![cmd.get_program().to_os_string()];
        argv.extend(cmd.get_args().map(|a| a.to_os_string()));
        let env = cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_os_string(), v?.to_os_string())))
            .collect();
        let trace = super::run(super::Command {
            argv,
            cwd: cmd.get_current_dir().unwrap_or(&self.root).to_path_buf(),
            env: Some(env),
            stdout: Some(out.try_clone()?),
            stderr: Some(out.try_clone()?),
            probes: self.opts.probes,
        })?;
        let code = trace.exit.code();
        let seen = report::seen(&trace, &self.root, self.opts.all);
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id.to_string(), seen));
        Ok((0, code))
    }
}

impl Tasks {
    /// The findings of every traced task of `tasks`, in their order.
    pub fn findings(self, tasks: &[TaskStatus<'_>]) -> Vec<TaskFindings> {
        let mut seen = self.seen.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for t in tasks {
            let id = t.task.id();
            let Some(i) = seen.iter().position(|(s, _)| *s == id) else {
                continue;
            };
            let (_, s) = seen.swap_remove(i);
            let declared: Vec<&str> = t
                .resolved
                .inputs
                .iter()
                .filter(|i| i.kind == InputKind::File)
                .map(|i| i.name.as_str())
                .collect();
            let config = &t.task.task.config_files;
            let unread = declared
                .iter()
                .filter(|d| !s.read.contains(**d) && !config.iter().any(|c| c == *d))
                .map(|d| d.to_string())
                .collect();
            let app = t.task.app.dir.as_str();
            let inside = |p: &str| app == "." || p.starts_with(&format!("{app}/"));
            let outputs: Vec<String> = t
                .task
                .task
                .outputs
                .files
                .iter()
                .map(|o| rel(&Path::new(app).join(&o.path)))
                .collect();
            let covered = |p: &str| declared.contains(&p) || config.iter().any(|c| c == p);
            // A path only probed may not exist, so no resolved input names it: the declared
            // globs (or an output: make stats its targets) say whether it is covered.
            let globs = input_globs(&t.task.task.inputs);
            let probe_covered = |p: &str| {
                covered(p) || outputs.iter().any(|o| o == p) || globs.covers(Path::new(p))
            };
            let findings = report::compare(
                s,
                covered,
                |p| report::suggest_glob(p, app),
                unread,
                |p| inside(p) || outputs.iter().any(|o| o == p),
                probe_covered,
            );
            out.push(TaskFindings { task: id, findings });
        }
        out
    }
}

/// The file input globs of a task (repository-relative) less its excluded ones.
struct Globs {
    files: GlobSet,
    excluded: GlobSet,
}

impl Globs {
    fn covers(&self, p: &Path) -> bool {
        self.files.is_match(p) && !self.excluded.is_match(p)
    }
}

fn input_globs(inputs: &crate::tasks::config::model::Inputs) -> Globs {
    // Globs that do not compile were refused when the inputs were resolved, before the run.
    let set = |globs: Vec<&String>| globs::glob_set(globs).unwrap_or_else(|_| GlobSet::empty());
    Globs {
        files: set(inputs.files.iter().flat_map(|f| &f.paths).collect()),
        excluded: set(inputs.excluded.iter().collect()),
    }
}

/// A repository-relative path with `.` and `..` taken out.
fn rel(p: &Path) -> String {
    let abs = super::normalise(&Path::new("/").join(p));
    abs.to_string_lossy().trim_start_matches('/').to_string()
}
