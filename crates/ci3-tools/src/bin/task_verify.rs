//! `task_verify [TARGET...]`: recorded runs with the same inputs and different outputs.

use ci3::tasks::records;
use ci3_tools::tasks::{RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Scans the successful runs of the tasks for runs with the same total input digest whose
/// outputs have different digests: a build that is not reproducible, or inputs that are
/// incomplete. Docker image outputs are reported apart and do not count (image ids change
/// with every build). Only the records of runs that share a digest are read.
#[derive(Parser)]
#[command(name = "task_verify", version, after_help = help())]
struct Args {
    /// Tasks to verify (default: all).
    targets: Vec<String>,
    /// Only runs started at or after this date (YYYY.MM.DD or YYYY-MM-DD[THH:MM[:SS]], UTC;
    /// default: 30 days ago).
    #[arg(short = 's', long)]
    from: Option<String>,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  no issues found\n  1  usage or store error\n  \
         2  issues found, or a configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("task_verify");
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
        let verdicts =
            ci3::tasks::verify::verify(store, trust, &tasks, from, tool.reporter.as_ref())?;
        let mut issues = 0;
        for v in &verdicts {
            if v.issues.is_empty() {
                println!("{}: OK", v.task);
            } else {
                println!("{}: Issues found", v.task);
                issues += v.issues.len();
                for issue in &v.issues {
                    println!("{issue}");
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
        Ok(2)
    })
}
