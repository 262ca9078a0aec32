//! `task_diff A B`: the inputs that differ between two tasks or recorded runs.

use ci3::tasks::diff::{self, Sources, Spec};
use ci3_tools::tasks::baur;
use ci3_tools::tasks::table::{self, Column, Format, PATH};
use ci3_tools::tasks::{OutputArgs, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Compares the inputs of two tasks or runs. An argument is APP.TASK (its inputs now),
/// APP.TASK^ (its last recorded run; ^^ the one before, and so on) or a run (its id, or baur's
/// run number: the Nth run recorded in the store). Rows: D the digests differ, - only in the
/// first, + only in the second.
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
         Exit status:\n  0  the inputs are the same\n  1  usage or store error, or no such task or run\n  \
         2  the inputs differ, or a configuration that cannot be right"
    )
}

fn main() {
    let args: Args = baur::parse(1);
    let tool = Tool::new(baur::name("task_diff"));
    ci3_tools::run(tool.name, || {
        let specs = Spec::parse_both([&args.a, &args.b])?;
        let repo = match specs.iter().any(Spec::needs_repo) {
            true => Some(args.repo.open_quiet(&tool, args.quiet.quiet)?),
            false => None,
        };
        let selected = tool.store();
        let from = Sources {
            repo: repo.as_ref().map(|(r, cwd)| (r, cwd.as_path())),
            settings: &tool.settings,
            store: selected.store.as_ref(),
            trust: &selected.trust,
        };
        let strings: Vec<String> = args.input_str.iter().cloned().collect();
        let [a, b] = &specs;
        let diffs = diff::between(a, b, [&args.a, &args.b], &strings, &from)?;
        let format = args.output.format();
        let quiet = args.quiet.quiet;
        let shown = |d: &Option<ci3::digest::Digest>| d.map(|d| d.prefixed()).unwrap_or_default();
        if !quiet {
            let rows: Vec<Vec<String>> = diffs
                .iter()
                .map(|d| {
                    let state = d.state.as_str().to_string();
                    vec![
                        state,
                        d.input.clone(),
                        shown(&d.digest_a),
                        shown(&d.digest_b),
                    ]
                })
                .collect();
            print!("{}", table::render(format, COLUMNS, &rows, true));
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
