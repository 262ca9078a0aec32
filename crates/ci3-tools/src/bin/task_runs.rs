//! `task_runs [APP[.TASK]]`: the recorded runs of tasks, newest first.

use ci3::tasks::records::Numbering;
use ci3::tasks::runs::{self, Query, Sort};
use ci3_tools::tasks::baur;
use ci3_tools::tasks::runs as shown;
use ci3_tools::tasks::table;
use ci3_tools::tasks::{OutputArgs, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Lists recorded runs, newest first: id, app, task, result, start time, duration and total
/// input digest. APP, APP.TASK, APP.*, *.TASK or * (the default: every task of the repository's
/// apps). The list comes from one listing of the store per task; no record is read unless
/// --has-input asks about the inputs (16 at a time, newest first, until --limit match; a record
/// that cannot be read is named and left out).
#[derive(Parser)]
#[command(name = "task_runs", version, after_help = help())]
#[command(mut_arg("quiet", |a| a.help("Only the run ids")))]
struct Args {
    /// APP or APP.TASK; `*` matches every app or task.
    target: Option<String>,
    /// Only runs started after this time (YYYY-MM-DD[THH:MM[:SS]] or YYYY.MM.DD-HH:MM, UTC).
    #[arg(short, long)]
    after: Option<String>,
    /// Only runs started before this time.
    #[arg(short, long)]
    before: Option<String>,
    /// At most this many runs (0: all).
    #[arg(short, long, default_value_t = 0)]
    limit: usize,
    /// Sort by FIELD-ORDER: FIELD time or duration, ORDER asc or desc (default: time-desc;
    /// equal durations newest first).
    #[arg(short, long, value_name = "FIELD-ORDER")]
    sort: Option<Sort>,
    /// Only runs that have this input: a file by its repository-relative path, an input string
    /// as string:VALUE, an environment variable as $NAME.
    #[arg(long = "has-input", value_name = "INPUT")]
    has_input: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    quiet: QuietArg,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  listed\n  1  usage or store error, a bad date, or no matching run\n  \
         2  a configuration that cannot be right"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let tool = Tool::new(baur::name("task_runs"));
    ci3_tools::run(tool.name, || {
        let query = Query {
            target: args.target.clone(),
            after: args.after.clone(),
            before: args.before.clone(),
            limit: args.limit,
            sort: args.sort,
            has_input: args.has_input.clone(),
        };
        let (repo, _) = args.repo.open_quiet(&tool, args.quiet.quiet)?;
        let selected = tool.store();
        let listing = runs::runs(&repo.apps, selected.store.as_ref(), &selected.trust, &query)?;
        for line in &listing.skipped {
            tool.say(line);
        }
        let runs = listing.runs;
        if runs.is_empty() {
            tool.say("no matching task runs exist");
            return Ok(1);
        }
        // Run for `baur ls runs`: runs by number, as baur's ids.
        let numbers = match baur::invoked_as() {
            Some(_) => Some(Numbering::list(selected.store.as_ref())?),
            None => None,
        };
        if args.quiet.quiet {
            for r in &runs {
                println!("{}", shown::id(r, numbers.as_ref()));
            }
            return Ok(0);
        }
        let format = args.output.format();
        let rows = shown::rows(&runs, format, numbers.as_ref());
        print!("{}", table::render(format, shown::COLUMNS, &rows, true));
        Ok(0)
    })
}
