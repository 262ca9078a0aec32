//! `task_diff A B`: the inputs that differ between two tasks or recorded runs.

use ci3::git::FileIds;
use ci3::tasks::diff::diff;
use ci3::tasks::format::{self, Column, Format, PATH};
use ci3::tasks::inputs::{string_input, Input, Resolver};
use ci3::tasks::records;
use ci3::tasks::Repo;
use ci3_tools::tasks::{OutputArgs, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Compares the inputs of two tasks or runs. An argument is APP.TASK (its inputs now),
/// APP.TASK^ (its last recorded run; ^^ the one before, and so on) or a run id. Rows: D the
/// digests differ, - only in the first, + only in the second.
#[derive(Parser)]
#[command(name = "task_diff", version, after_help = help())]
#[command(mut_arg("quiet", |a| a.help("Do not list the inputs that differ")))]
struct Args {
    /// The first task or run.
    a: String,
    /// The second task or run.
    b: String,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    quiet: QuietArg,
    /// A string that counts as an input of the first argument.
    #[arg(long = "input-str")]
    input_str: Option<String>,
    #[command(flatten)]
    repo: RepositoryArg,
}

const COLUMNS: &[Column] = &[
    Column::new("state", "State", "State"),
    PATH,
    Column::new("digest1", "Digest1", "Digest1"),
    Column::new("digest2", "Digest2", "Digest2"),
];

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  the inputs are the same\n  1  usage, configuration or store error, or no such task or run\n  \
         2  the inputs differ"
    )
}

/// What an argument names.
enum Spec {
    Task { app: String, task: String },
    Previous { app: String, task: String, n: usize },
    Run(String),
}

fn word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_spec(arg: &str) -> ci3::Result<Spec> {
    if records::is_run_id(arg) {
        return Ok(Spec::Run(arg.to_string()));
    }
    let invalid = || ci3::err!(Failed, "invalid argument: {arg:?}");
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

struct Side {
    inputs: Vec<Input>,
    run: Option<String>,
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("task_diff");
    ci3_tools::run(tool.name, || {
        if args.a == args.b {
            ci3::fail!(
                Failed,
                "{} and {} refer to the same task-run",
                args.a,
                args.b
            );
        }
        let specs = [parse_spec(&args.a)?, parse_spec(&args.b)?];
        let needs_repo = specs.iter().any(|s| matches!(s, Spec::Task { .. }));
        let repo: Option<(Repo, _)> = if needs_repo {
            Some(args.repo.open(&tool)?)
        } else {
            None
        };
        let selected = tool.store();
        let store = selected.store.as_ref();
        let mut sides = Vec::new();
        for (i, (spec, arg)) in specs.iter().zip([&args.a, &args.b]).enumerate() {
            let strings: Vec<String> = if i == 0 {
                args.input_str.iter().cloned().collect()
            } else {
                Vec::new()
            };
            // A run found through a task's history names must be a run of that task.
            let mut of_task: Option<(&str, &str)> = None;
            let run_id = match spec {
                Spec::Task { app, task } => {
                    let (repo, cwd) = repo.as_ref().expect("repository opened");
                    let target = format!("{app}.{task}");
                    let tasks = repo
                        .select(cwd, &[target])
                        .map_err(|_| ci3::err!(Failed, "{arg}: task not found"))?;
                    let co = repo.checkout(&tool.settings)?;
                    let resolver =
                        Resolver::new(&repo.root, &tool.settings, FileIds::open(&co)?, &strings);
                    let resolved = resolver.resolve(tasks[0])?;
                    sides.push(Side {
                        inputs: resolved.inputs,
                        run: None,
                    });
                    continue;
                }
                Spec::Previous { app, task, n } => {
                    let window = records::Window {
                        limit: Some(*n),
                        ..Default::default()
                    };
                    let history = records::history(store, app, task, window)?;
                    let Some(entry) = history.get(n - 1) else {
                        ci3::fail!(
                            Failed,
                            "run {arg} does not exist, only {} task-run(s) exist(s)",
                            history.len()
                        );
                    };
                    of_task = Some((app, task));
                    entry.id.clone()
                }
                Spec::Run(id) => id.clone(),
            };
            let record = match of_task {
                Some((app, task)) => records::load_of(store, &selected.trust, app, task, &run_id)?,
                None => records::load(store, &selected.trust, &run_id)?,
            }
            .ok_or_else(|| ci3::err!(Failed, "task-run {run_id} does not exist"))?;
            let mut inputs = record.inputs;
            inputs.extend(strings.iter().map(|s| string_input(s)));
            sides.push(Side {
                inputs,
                run: Some(run_id),
            });
        }
        if let (Some(a), Some(b)) = (&sides[0].run, &sides[1].run) {
            if a == b {
                ci3::fail!(
                    Failed,
                    "{} and {} refer to the same task-run",
                    args.a,
                    args.b
                );
            }
        }
        let diffs = diff(&sides[0].inputs, &sides[1].inputs);
        let format = args.output.format();
        let quiet = args.quiet.quiet;
        if !quiet {
            let rows: Vec<Vec<String>> = diffs
                .iter()
                .map(|d| {
                    vec![
                        d.state.as_str().to_string(),
                        d.input.clone(),
                        d.digest_a.clone(),
                        d.digest_b.clone(),
                    ]
                })
                .collect();
            print!("{}", format::render(format, COLUMNS, &rows, true));
        }
        if format == Format::Plain {
            if !quiet {
                println!();
            }
            if diffs.is_empty() {
                println!("the inputs are the same");
            } else {
                println!("the inputs differ");
            }
        }
        Ok(if diffs.is_empty() { 0 } else { 2 })
    })
}
