//! `task_gc --before DATE`: deletes the runs recorded before a date, and the outputs only they
//! stored.

use ci3::tasks::records;
use ci3_tools::tasks::baur;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Deletes every run recorded in the store that started before DATE: its record and the names
/// that find it, then each stored output no remaining record names (also those of runs whose
/// record was never written). A kept record that cannot be read is named and kept, and protects
/// no output. baur's `cleanup db`; reads only the store, so it runs without a repository. Run
/// it while no task_run writes to the store: the outputs of a run not yet recorded are deleted
/// under it, which a restore then reports as missing (nothing wrong is ever placed).
#[derive(Parser)]
#[command(name = "task_gc", version, after_help = help())]
struct Args {
    /// Delete runs that started before this date (YYYY-MM-DD[THH:MM[:SS]] or the original's
    /// YYYY.MM.DD-HH:MM, UTC; or a run id).
    #[arg(long, visible_alias = "task-runs-before")]
    before: String,
    /// Only say what would be deleted.
    #[arg(short = 'p', long = "dry-run", visible_alias = "pretend")]
    dry_run: bool,
    /// Accepted for baur's `cleanup db -f`: nothing waits here before deleting.
    #[arg(short = 'f', long)]
    force: bool,
}

fn help() -> String {
    format!(
        "Environment:\n{STORE_ENV}\n\n\
         Exit status:\n  0  deleted (or, with --dry-run, counted)\n  \
         1  usage or store error\n  2  a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let _ = args.force;
    let tool = Tool::new(baur::name("task_gc"));
    ci3_tools::run(tool.name, || {
        let before = records::parse_time(&args.before)?;
        let selected = tool.store();
        tool.say(&format!(
            "{} task runs that started before {} in {}...",
            if args.dry_run { "Counting" } else { "Deleting" },
            ci3::clock::rfc3339(before),
            selected.store.describe()
        ));
        let pruned = ci3::tasks::prune::prune(selected.store.as_ref(), before, args.dry_run)?;
        for line in &pruned.unreadable {
            tool.say(line);
        }
        let verb = if args.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        println!("Task Runs: {}", pruned.runs);
        println!("Outputs:   {}", pruned.outputs);
        tool.say(&format!(
            "{verb} {} run(s) and {} stored output(s); {} run(s) kept",
            pruned.runs, pruned.outputs, pruned.kept
        ));
        Ok(0)
    })
}
