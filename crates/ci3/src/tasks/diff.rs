//! The difference between the inputs of two tasks or runs, keyed by how an input is shown (a
//! file's path, `$NAME`, `string:S`, `task:ID`), and what each side of `task_diff` names.

use std::collections::BTreeMap;
use std::path::Path;

use super::config::Repo;
use super::inputs::{string_input, Input, Resolver};
use super::records::{self, Window};
use crate::digest::Digest;
use crate::settings::Settings;
use crate::store::Store;
use crate::trust::Trust;
use crate::Result;

/// How an input differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In both, with different digests.
    Changed,
    /// Only in the first.
    OnlyInA,
    /// Only in the second.
    OnlyInB,
}

impl State {
    /// The original's letters: `D`, `-`, `+`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Changed => "D",
            State::OnlyInA => "-",
            State::OnlyInB => "+",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub state: State,
    pub input: String,
    /// `None` when the input is not in A.
    pub digest_a: Option<Digest>,
    /// `None` when the input is not in B.
    pub digest_b: Option<Digest>,
}

/// Every input that differs, sorted by name.
pub fn diff(a: &[Input], b: &[Input]) -> Vec<Difference> {
    let index = |v: &[Input]| -> BTreeMap<String, Digest> {
        v.iter().map(|i| (i.shown(), i.digest)).collect()
    };
    let (a, b) = (index(a), index(b));
    let mut out = Vec::new();
    for (name, da) in &a {
        match b.get(name) {
            Some(db) if db == da => {}
            Some(db) => out.push(Difference {
                state: State::Changed,
                input: name.clone(),
                digest_a: Some(*da),
                digest_b: Some(*db),
            }),
            None => out.push(Difference {
                state: State::OnlyInA,
                input: name.clone(),
                digest_a: Some(*da),
                digest_b: None,
            }),
        }
    }
    for (name, db) in &b {
        if !a.contains_key(name) {
            out.push(Difference {
                state: State::OnlyInB,
                input: name.clone(),
                digest_a: None,
                digest_b: Some(*db),
            });
        }
    }
    out.sort_by(|x, y| x.input.cmp(&y.input));
    out
}

/// What an argument of `task_diff` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `APP.TASK`: its inputs now.
    Task { app: String, task: String },
    /// `APP.TASK^`: its last recorded run; `^^` the one before, and so on.
    Previous { app: String, task: String, n: usize },
    /// A run id, or baur's run number ([`records::Numbering`]).
    Run(String),
}

impl Spec {
    /// Reads an argument; anything else is a `Usage` error.
    pub fn parse(arg: &str) -> Result<Spec> {
        if records::is_run_ref(arg) {
            return Ok(Spec::Run(arg.to_string()));
        }
        let invalid = || crate::err!(Usage, "invalid argument: {arg:?}");
        let (app, rest) = arg.split_once('.').ok_or_else(invalid)?;
        let task = rest.trim_end_matches('^');
        if !word(app) || !word(task) {
            return Err(invalid());
        }
        let n = rest.len() - task.len();
        let (app, task) = (app.to_string(), task.to_string());
        Ok(if n == 0 {
            Spec::Task { app, task }
        } else {
            Spec::Previous { app, task, n }
        })
    }

    /// Both arguments of `task_diff`; the same one twice is a `Usage` error.
    pub fn parse_both(args: [&str; 2]) -> Result<[Spec; 2]> {
        if args[0] == args[1] {
            return Err(same_run(args));
        }
        Ok([Spec::parse(args[0])?, Spec::parse(args[1])?])
    }

    /// Whether resolving it needs the repository (a task's inputs now).
    pub fn needs_repo(&self) -> bool {
        matches!(self, Spec::Task { .. })
    }
}

fn word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Where the sides of a comparison are looked up.
pub struct Sources<'a> {
    /// The repository and the working directory, when a side is a task.
    pub repo: Option<(&'a Repo, &'a Path)>,
    pub settings: &'a Settings,
    pub store: &'a dyn Store,
    pub trust: &'a Trust,
}

/// The inputs of one side, and the run they were recorded by.
pub struct Side {
    pub inputs: Vec<Input>,
    pub run: Option<String>,
}

/// The inputs `spec` (given as `arg`) names, `strings` counting as inputs too.
pub fn side(spec: &Spec, arg: &str, strings: &[String], from: &Sources<'_>) -> Result<Side> {
    let (store, trust) = (from.store, from.trust);
    let record = match spec {
        Spec::Task { app, task } => {
            let (repo, cwd) = from.repo.expect("a repository for a task");
            let tasks = repo
                .select(cwd, &[format!("{app}.{task}")])
                .map_err(|_| crate::err!(Usage, "{arg}: task not found"))?;
            let co = repo.checkout(from.settings)?;
            let resolver = Resolver::open(&repo.root, &co, from.settings, strings)?;
            let resolved = resolver.resolve(tasks[0])?;
            return Ok(Side {
                inputs: resolved.inputs,
                run: None,
            });
        }
        Spec::Previous { app, task, n } => {
            let window = Window {
                limit: Some(*n),
                ..Default::default()
            };
            let history = records::history(store, app, task, window)?;
            let Some(entry) = history.get(n - 1) else {
                crate::fail!(
                    Miss,
                    "run {arg} does not exist, only {} task-run(s) exist(s)",
                    history.len()
                );
            };
            // A run found through a task's history names must be a run of that task.
            records::load_of(store, trust, app, task, &entry.id)?
                .ok_or_else(|| crate::err!(Miss, "task-run {} does not exist", entry.id))?
        }
        Spec::Run(arg) => records::require(store, trust, &records::resolve(store, arg)?)?,
    };
    let mut inputs = record.inputs;
    inputs.extend(strings.iter().map(|s| string_input(s)));
    Ok(Side {
        inputs,
        run: Some(record.id),
    })
}

fn same_run(args: [&str; 2]) -> crate::Error {
    crate::err!(
        Usage,
        "{} and {} refer to the same task-run",
        args[0],
        args[1]
    )
}

/// The inputs that differ between `a` and `b` (given as `args`), the input strings counting as
/// inputs of `a`; a `Usage` error when both name the same run.
pub fn between(
    a: &Spec,
    b: &Spec,
    args: [&str; 2],
    strings: &[String],
    from: &Sources<'_>,
) -> Result<Vec<Difference>> {
    let first = side(a, args[0], strings, from)?;
    let second = side(b, args[1], &[], from)?;
    if first.run.is_some() && first.run == second.run {
        return Err(same_run(args));
    }
    Ok(diff(&first.inputs, &second.inputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::inputs::{string_input, InputKind};

    fn file(name: &str, digest: &str) -> Input {
        Input {
            kind: InputKind::File,
            name: name.into(),
            digest: Digest::of(digest.as_bytes()),
        }
    }

    #[test]
    fn changed_removed_added() {
        let a = [file("x", "1"), file("y", "2"), string_input("main")];
        let b = [file("x", "1"), file("y", "3"), file("z", "4")];
        let d = diff(&a, &b);
        let rows: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.state.as_str(), d.input.as_str()))
            .collect();
        assert_eq!(rows, [("-", "string:main"), ("D", "y"), ("+", "z")]);
        assert!(diff(&a, &a).is_empty());
    }
}
