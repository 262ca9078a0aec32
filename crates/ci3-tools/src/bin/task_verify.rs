//! `task_verify [TARGET...]`: recorded runs with the same inputs and different outputs.

use ci3::tasks::records::{self, RunResult};
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
         Exit status:\n  0  no issues found\n  1  usage, configuration or store error\n  \
         2  issues found"
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
        let store = selected.store.as_ref();
        tool.say(&format!(
            "Scanning for runs after {} with the same inputs that produced different outputs...",
            ci3::clock::rfc3339(from)
        ));
        let mut issues = 0;
        for t in &tasks {
            let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            // `--from` is inclusive; the oldest run of a group is the one the others are
            // compared with.
            let window = records::Window {
                after: Some(from.saturating_sub(1)),
                ..Default::default()
            };
            for r in records::history(store, &t.app.name, &t.task.name, window)?
                .into_iter()
                .rev()
            {
                if r.result == RunResult::Success {
                    groups.entry(r.total_digest).or_default().push(r.id);
                }
            }
            let mut found = Vec::new();
            let mut docker = Vec::new();
            for (digest, ids) in groups.iter().filter(|(_, ids)| ids.len() > 1) {
                let mut runs = Vec::new();
                for id in ids {
                    match records::load_of(store, &selected.trust, &t.app.name, &t.task.name, id) {
                        Ok(Some(r)) => runs.push(r),
                        Ok(None) => tool.say(&format!("run {id}: named but its record is missing")),
                        Err(e) => tool.say(&format!("{e:#}")),
                    }
                }
                let Some((reference, rest)) = runs.split_first() else {
                    continue;
                };
                for r in rest {
                    for o in &r.outputs {
                        let Some(ro) = reference.outputs.iter().find(|x| x.name == o.name) else {
                            continue;
                        };
                        if ro.digest == o.digest {
                            continue;
                        }
                        let line = format!(
                            "- runs {} and {} have the same inputs ({digest}), but the digest of output {} differs ({} and {})",
                            reference.id, r.id, o.name, ro.digest, o.digest
                        );
                        if o.name.starts_with("docker:") {
                            docker.push(line);
                        } else {
                            found.push(line);
                        }
                    }
                }
            }
            if found.is_empty() {
                println!("{}: OK", t.id());
            } else {
                println!("{}: Issues found", t.id());
                issues += found.len();
                for line in &found {
                    println!("{line}");
                }
            }
            if !docker.is_empty() {
                println!(
                    "{}: docker images differ (never reproducible, not counted):",
                    t.id()
                );
                for line in &docker {
                    println!("{line}");
                }
            }
        }
        println!("{}", "-".repeat(80));
        if issues > 0 {
            println!("Issues found");
            println!("\nPossible reasons:");
            println!("- the task is not reproducible: runs with the same inputs must produce outputs with the same digests");
            println!("- the declared inputs of the task are incomplete");
            Ok(2)
        } else {
            println!("No issues found");
            Ok(0)
        }
    })
}
