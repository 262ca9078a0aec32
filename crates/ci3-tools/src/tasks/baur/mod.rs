//! `baur ...`: the original task runner's command line mapped to the ci3 tool that runs each
//! command (`surface`: what a tool run for a baur command prints differently), its `init`
//! commands, which write configuration files, and baur's value formats (`format`).

pub mod format;
mod init;
mod surface;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

pub use init::{init_app, init_include, init_repo};
pub use surface::{invoked_as, name, parse};

pub const HELP: &str = "\
baur: the command line of the baur task runner, run by ci3's task tools; run records live in
the ci3 store (CI3_STORE), no PostgreSQL.

Usage: baur [--repository DIR] [-v] [--no-color] COMMAND [ARGS...]

Commands:
  status [TARGET...]              task_status  (--format, --csv, -q, -f FIELDS, -s STATUS, -c, --abs-path,
                                               --input-str, --lookup-input-str)
  run [TARGET...]                 task_run     (-p N, -f, -s, -c, -o, --input-str, --lookup-input-str, --restore)
  ls apps [APP|DIR...]            task_ls apps (--format, --csv, -q, -f FIELDS, --abs-path)
  ls inputs TARGET|RUN            task_inputs  (--digests, --format, --csv, -q, --input-str)
  ls runs [APP[.TASK]]            task_runs    (-a, -b, -l, -s FIELD-ORDER, --has-input, --format, --csv, -q)
  ls outputs RUN                  task_show --outputs (--format, --csv, -q)
  ls deps [TARGET...]             task_graph   (--format plain|dot|json; ci3's, baur has none)
  show TARGET|RUN                 task_show
  diff inputs A B                 task_diff    (--csv, -q, --input-str)
  verify [TARGET...]              task_verify  (-s/--from DATE)
  cleanup db --task-runs-before=DATE   task_gc (-p/--pretend, -f)
  init repo [DIR]                 writes .baur.toml
  init app [NAME]                 writes .app.toml in the current directory
  init include [FILENAME]         writes an example include file (includes.toml), commented out
Not here: release, init db, upgrade db, init bashcomp|zshcomp|fishcomp|powershellcomp (each
says what to use instead).

A RUN is a run id or, as baur's, a number: run N is the Nth run recorded in the store (the Id
`baur ls runs` shows).

Environment:
  The variables of the tool a command runs: see TOOL --help (CI3_STORE and the other store
  variables, CI3_SIGNING_KEY, CI3_TRUSTED_KEYS).

Exit status:
  that of the tool run: 0 ok, 1 error, 2 differ or issues found (diff inputs, verify),
  3 nothing to restore (task_restore); 1 for a command that is not supported here; 2 for a
  command line that is wrong (a missing argument, an unknown flag or command)";

/// What `--version` prints: baur's line (`baur version X.Y.Z (COMMIT)`), with ci3's version where
/// baur has its own and, where baur has the commit, what this is.
pub fn version() -> String {
    format!(
        "baur version {} (ci3: baur's command line run by ci3's task tools)",
        env!("CARGO_PKG_VERSION")
    )
}

/// A command that is not supported here: one line, exit 1.
pub fn fail(line: &str) -> ! {
    eprintln!("baur: {line}");
    std::process::exit(1)
}

/// A command line that is wrong: `line` (which names the command), exit 1 as baur's.
pub fn usage(line: &str) -> ! {
    eprintln!("{line}");
    // baur's own usage errors end in log.Fatalln: 1.
    std::process::exit(1)
}

/// Replaces this process with `tool` (beside this executable, else on PATH) and `args`, run as
/// `baur COMMAND` (its argument 0) so that it speaks for that command ([`surface`]).
pub fn exec(tool: &str, command: &str, args: Vec<String>) -> ! {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(tool)))
        .filter(|p| p.is_file());
    let program: PathBuf = beside.unwrap_or_else(|| PathBuf::from(tool));
    let err = std::process::Command::new(&program)
        .arg0(format!("baur {command}"))
        .args(&args)
        .exec();
    fail(&format!("cannot run {}: {err}", program.display()))
}

/// What a `baur` command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `--help` and the like: this text on stdout, exit 0.
    Print(String),
    /// Run this tool for this baur command (`ls apps`) with these arguments, in this process's
    /// place.
    Exec(&'static str, &'static str, Vec<String>),
    /// `init repo [DIR]`.
    InitRepo(Vec<String>),
    /// `init app [NAME]`, and `--repository` when given.
    InitApp(Vec<String>, Option<String>),
    /// `init include [FILENAME]`, and `--repository` when given.
    InitInclude(Vec<String>, Option<String>),
    /// A line on stderr, exit 0 (a command that has nothing to do here).
    Note(String),
    /// A line on stderr, exit 1 (a command that is not supported).
    Fail(String),
    /// A line on stderr naming the command, exit 2 (a wrong command line).
    Usage(String),
}

/// The action of the arguments `args` (without the program name).
pub fn action(args: impl IntoIterator<Item = String>) -> Action {
    let mut repository: Option<String> = None;
    let mut words: Vec<String> = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-v" | "--verbose" | "--no-color" => {}
            "--cpu-prof" => {
                it.next();
            }
            "--repository" => {
                let Some(dir) = it.next() else {
                    return Action::Usage("baur: flag needs an argument: --repository".into());
                };
                repository = Some(dir)
            }
            "--csv" => words.push(a),
            _ => match a.strip_prefix("--repository=") {
                Some(r) => repository = Some(r.to_string()),
                None if a.starts_with("--cpu-prof=") => {}
                None => words.push(a),
            },
        }
    }
    // `status --csv` stays itself: the original's `--csv` has no header row, its newer
    // `--format csv` has one. The other commands take it as `--format=csv`.
    if words.first().is_none_or(|w| w != "status") {
        for w in words.iter_mut().filter(|w| *w == "--csv") {
            *w = "--format=csv".into();
        }
    }
    let with_repo = |mut args: Vec<String>| {
        if let Some(r) = &repository {
            args.push("--repository".into());
            args.push(r.clone());
        }
        args
    };
    let rest = |n: usize| words.get(n..).map(<[String]>::to_vec).unwrap_or_default();
    let exec = |tool, command, first: Option<&str>, n: usize| {
        let mut args: Vec<String> = first.map(str::to_string).into_iter().collect();
        args.extend(rest(n));
        Action::Exec(tool, command, with_repo(args))
    };
    let sub = |group: &str, known: &str| match words.get(1) {
        Some(other) => Action::Usage(format!(
            "baur {group}: unknown command \"{other}\", use one of: {known}"
        )),
        None => Action::Usage(format!("baur {group}: requires a command: {known}")),
    };
    let first = words.first().map(String::as_str);
    let second = words.get(1).map(String::as_str);
    match (first, second) {
        (None | Some("-h" | "--help" | "help"), _) => Action::Print(HELP.into()),
        (Some("--version" | "version"), _) => Action::Print(version()),
        (Some("status"), _) => exec("task_status", "status", None, 1),
        (Some("run"), _) => exec("task_run", "run", None, 1),
        (Some("show"), _) => exec("task_show", "show", None, 1),
        (Some("verify"), _) => exec("task_verify", "verify", None, 1),
        (Some("diff"), Some("inputs")) => exec("task_diff", "diff inputs", None, 2),
        (Some("diff"), _) => sub("diff", "inputs"),
        (Some("ls"), Some("apps")) => exec("task_ls", "ls apps", Some("apps"), 2),
        (Some("ls"), Some("tasks")) => exec("task_ls", "ls tasks", Some("tasks"), 2),
        (Some("ls"), Some("inputs")) => exec("task_inputs", "ls inputs", None, 2),
        (Some("ls"), Some("runs")) => exec("task_runs", "ls runs", None, 2),
        (Some("ls"), Some("outputs")) => exec("task_show", "ls outputs", Some("--outputs"), 2),
        (Some("ls"), Some("deps")) => exec("task_graph", "ls deps", None, 2),
        (Some("ls"), _) => sub("ls", "apps, inputs, runs, outputs, deps"),
        // task_gc reads only the store: no --repository to pass.
        (Some("cleanup"), Some("db")) => Action::Exec("task_gc", "cleanup db", rest(2)),
        (Some("cleanup"), _) => sub("cleanup", "db"),
        (Some("init"), Some("repo")) => Action::InitRepo(rest(2)),
        (Some("init"), Some("app")) => Action::InitApp(rest(2), repository.clone()),
        (Some("init"), Some("include")) => Action::InitInclude(rest(2), repository.clone()),
        (Some("init"), Some("db")) => Action::Fail(
            "init db: there is no database, runs are recorded in the ci3 store: set CI3_STORE (a directory or s3://BUCKET/PREFIX)"
                .into(),
        ),
        (Some("init"), Some(shell @ ("bashcomp" | "zshcomp" | "fishcomp" | "powershellcomp"))) => {
            Action::Fail(format!(
                "init {shell}: no shell completion here: baur's is generated by baur itself"
            ))
        }
        (Some("init"), _) => sub("init", "repo, app, include"),
        (Some("upgrade"), Some("db")) => Action::Fail(
            "upgrade db: there is no database to upgrade, runs are recorded in the ci3 store (CI3_STORE)"
                .into(),
        ),
        (Some("upgrade"), Some("configs")) => Action::Note(
            "baur: upgrade configs: config versions 5, 6 and 7 are read as they are, nothing to upgrade"
                .into(),
        ),
        (Some("upgrade"), _) => sub("upgrade", "configs"),
        (Some("release"), _) => Action::Fail(
            "release: not supported, restore a task's outputs with task_restore (or baur run --restore) and publish them with cache_upload"
                .into(),
        ),
        (Some(other), _) => Action::Usage(format!(
            "baur: unknown command \"{other}\" for \"baur\", see baur --help"
        )),
    }
}
