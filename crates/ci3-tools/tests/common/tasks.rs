//! Fixtures of the task tools' tests: a baur repository with a directory store beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{command, run, Output, Repo};

pub const BAUR: &str =
    "config_version = 7\n[Discover]\napplication_dirs = [\".\"]\nsearch_depth = 3\n";

/// A task's `Files` input: the `*.txt` files of its app.
pub const FILES: &str = "[[Task.Input.Files]]\npaths = [\"*.txt\"]\n";

// The task tests (and tasks_exit_codes.rs) reach the table through here as well.
pub use super::exe::exe;

/// An `.app.toml`.
pub fn app(name: &str, tasks: &str) -> String {
    format!("name = \"{name}\"\n{tasks}")
}

/// A `[[Task]]` of an `.app.toml`; `extra` holds its inputs and outputs.
pub fn task(name: &str, command: &str, extra: &str) -> String {
    format!("[[Task]]\nname = \"{name}\"\ncommand = {command}\n{extra}")
}

/// A repository with `.baur.toml` and a directory store beside it.
pub struct Fixture {
    pub repo: Repo,
    pub store: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
}

impl Fixture {
    /// `files` written, nothing committed.
    pub fn new(files: &[(&str, &str)]) -> Fixture {
        let repo = Repo::new();
        repo.write(".baur.toml", BAUR);
        for (p, t) in files {
            repo.write(p, t);
        }
        Fixture {
            repo,
            store: tempfile::tempdir().unwrap(),
            vars: Vec::new(),
        }
    }

    /// `files` written and committed.
    pub fn committed(files: &[(&str, &str)]) -> Fixture {
        let f = Fixture::new(files);
        f.repo.commit_all("init");
        f
    }

    pub fn cmd_in(&self, dir: &Path, tool: &str, args: &[&str]) -> Command {
        let mut cmd = command(exe(tool));
        cmd.current_dir(dir).args(args).env(
            "CI3_STORE",
            format!("file://{}", self.store.path().display()),
        );
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, tool: &str, args: &[&str]) -> Output {
        run(&mut self.cmd_in(self.repo.path(), tool, args))
    }

    /// The stdout of a run that must exit 0.
    pub fn ok(&self, tool: &str, args: &[&str]) -> String {
        let out = self.run(tool, args);
        assert_eq!(out.code, 0, "{tool} {args:?}: {}", out.stderr);
        out.stdout
    }

    /// `task-id,status` rows of `task_status ARGS`.
    pub fn status(&self, args: &[&str]) -> Vec<String> {
        let mut a = vec!["-q", "--csv", "-f", "task-id,status"];
        a.extend(args);
        self.ok("task_status", &a)
            .lines()
            .map(String::from)
            .collect()
    }

    /// The run records in the store, sorted (by time: run ids start with it).
    pub fn runs(&self) -> Vec<PathBuf> {
        let dir = self.store.path().join(".ci3/runs/id");
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| rd.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Every file of the store below `.ci3/runs` whose path holds run `id` (its record and the
    /// names that point at it).
    pub fn files_of_run(&self, id: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![self.store.path().join(".ci3/runs")];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().unwrap().is_dir() {
                    todo.push(e.path());
                } else if e.path().to_string_lossy().contains(id) {
                    out.push(e.path());
                }
            }
        }
        out
    }
}

/// The run ids `task_runs ARGS -q` prints.
pub fn ids(f: &Fixture, args: &[&str]) -> Vec<String> {
    let mut a = vec!["-q"];
    a.extend(args);
    f.ok("task_runs", &a).lines().map(String::from).collect()
}

/// `calc.build`, committed: copies `in.txt` to `out/x`.
pub fn calc() -> Fixture {
    calc_running("mkdir -p out && cp in.txt out/x")
}

/// `calc.build`, committed: `sh -c SCRIPT`, which must make `out/x`, with `in.txt` its input.
pub fn calc_running(script: &str) -> Fixture {
    Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &task(
                    "build",
                    &format!("[\"sh\", \"-c\", \"{script}\"]"),
                    &format!("{FILES}[[Task.Output.File]]\npath = \"out/x\"\n"),
                ),
            ),
        ),
        ("calc/in.txt", "1"),
        (".gitignore", "out/\n"),
    ])
}

/// `a.copy`, committed: copies `in.txt` to `out`, an output.
pub fn copying() -> Fixture {
    let out_file = "[[Task.Output.File]]\npath = \"out\"\n";
    Fixture::committed(&[
        (
            "a/.app.toml",
            &app(
                "a",
                &task(
                    "copy",
                    "[\"sh\", \"-c\", \"cat in.txt > out\"]",
                    &format!("{FILES}{out_file}"),
                ),
            ),
        ),
        ("a/in.txt", "1"),
        (".gitignore", "out\n"),
    ])
}

/// `[[Task.Input.Files]]` with these paths.
pub fn inputs(paths: &[&str]) -> String {
    let quoted: Vec<String> = paths.iter().map(|p| format!("\"{p}\"")).collect();
    format!("[[Task.Input.Files]]\npaths = [{}]\n", quoted.join(", "))
}

pub fn output(path: &str) -> String {
    format!("[[Task.Output.File]]\npath = \"{path}\"\n")
}

pub fn sh(script: &str) -> String {
    format!("[\"sh\", \"-c\", \"{script}\"]")
}

/// lib.build -> app.build -> pkg.pack, each writing `out/*.txt` from what is upstream.
pub fn chain(lib_script: &str) -> Fixture {
    chain_with(lib_script, &[])
}

/// [`chain`] with more inputs of app.build, besides its `*.txt` and lib's output.
pub fn chain_with(lib_script: &str, app_inputs: &[&str]) -> Fixture {
    let lib = task(
        "build",
        &sh(lib_script),
        &format!("{}{}", inputs(&["*.txt"]), output("out/lib.txt")),
    );
    let app_task = task(
        "build",
        &sh("mkdir -p out && cat ../lib/out/lib.txt main.txt > out/app.txt"),
        &format!(
            "{}{}",
            inputs(&[&["*.txt", "../lib/out/lib.txt"], app_inputs].concat()),
            output("out/app.txt")
        ),
    );
    let pkg = task(
        "pack",
        &sh("mkdir -p out && cat ../app/out/app.txt > out/pkg.txt"),
        &format!("{}{}", inputs(&["../app/out/*.txt"]), output("out/pkg.txt")),
    );
    Fixture::committed(&[
        ("lib/.app.toml", &app("lib", &lib)),
        ("lib/src.txt", "lib 1\n"),
        ("app/.app.toml", &app("app", &app_task)),
        ("app/main.txt", "main\n"),
        ("pkg/.app.toml", &app("pkg", &pkg)),
        (".gitignore", "out/\nflags/\n"),
    ])
}

/// The chain's library script that succeeds.
pub const LIB: &str = "mkdir -p out && cat src.txt > out/lib.txt";
