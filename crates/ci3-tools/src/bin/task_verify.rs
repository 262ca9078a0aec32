//! `task_verify [TARGET...]`: recorded runs with the same inputs and different outputs.

use ci3::tasks::records;
use ci3_tools::tasks::baur;
use ci3_tools::tasks::{RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Scans the successful runs of the tasks for runs with the same total input digest whose
/// outputs have different digests: a build that is not reproducible, or inputs that are
/// incomplete. Docker image outputs are reported apart and do not count (image ids change
/// with every build). Only the records of runs that share a digest are read (every successful
/// run's with --check-outputs).
#[derive(Parser)]
#[command(name = "task_verify", version, after_help = help())]
struct Args {
    /// Tasks to verify (default: all).
    targets: Vec<String>,
    /// Only runs started at or after this date (YYYY.MM.DD or YYYY-MM-DD[THH:MM[:SS]], UTC;
    /// default: 30 days ago).
    #[arg(short = 's', long)]
    from: Option<String>,
    /// Also report successful runs whose record or stored file outputs are gone from the store
    /// (evicted, collected, never written): their task stays Exist but cannot be restored, and
    /// `task_run --restore` runs it again.
    #[arg(long = "check-outputs")]
    check_outputs: bool,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  no issues found\n  1  usage or store error\n  \
         2  issues found (with --check-outputs: a run's record or output gone too), or a \
         configuration that cannot be right"
    )
}

fn main() {
    let args: Args = baur::parse(1);
    let tool = Tool::new(baur::name("task_verify"));
    ci3_tools::run(tool.name, || {
        let from = match &args.from {
            Some(d) => records::parse_time(d)?,
            None => ci3::clock::now_micros().saturating_sub(30 * 86_400 * 1_000_000),
        };
        let (repo, cwd) = args.repo.open(&tool)?;
        let tasks = repo.select(&cwd, &args.targets)?;
        let selected = tool.store();
        tool.say(&format!(
            "Scanning for runs after {} with the same inputs that produced different outputs...",
            ci3::clock::rfc3339(from)
        ));
        let (store, trust) = (selected.store.as_ref(), &selected.trust);
        let check = args.check_outputs;
        let reporter = tool.reporter.as_ref();
        let verdicts = ci3::tasks::verify::verify(store, trust, &tasks, from, check, reporter)?;
        let mut issues = 0;
        for v in &verdicts {
            if v.issues.is_empty() && v.gone.is_empty() {
                println!("{}: OK", v.task);
            } else {
                println!("{}: Issues found", v.task);
                issues += v.issues.len() + v.gone.len();
                for issue in &v.issues {
                    println!("{issue}");
                }
                for gone in &v.gone {
                    println!("{gone}");
                }
            }
            if !v.docker.is_empty() {
                println!(
                    "{}: docker images differ (never reproducible, not counted):",
                    v.task
                );
                for issue in &v.docker {
                    println!("{issue}");
                }
            }
        }
        println!("{}", "-".repeat(80));
        if issues == 0 {
            println!("No issues found");
            return Ok(0);
        }
        println!("Issues found");
        println!("\nPossible reasons:");
        println!("- the task is not reproducible: runs with the same inputs must produce outputs with the same digests");
        println!("- the declared inputs of the task are incomplete");
        if verdicts.iter().any(|v| !v.gone.is_empty()) {
            println!("- runs' outputs or records were removed from the store (eviction, task_gc, a lost write): task_run --restore runs their tasks again");
        }
        Ok(2)
    })
}
