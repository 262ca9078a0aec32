//! `task_restore [TARGET...]`: bring back the outputs of tasks whose inputs have a recorded run.

use ci3::tasks::status::Status;
use ci3::tasks::statuses::{self, Shown};
use ci3_tools::tasks::{LookupArgs, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// For every task whose status is Exist, fetches the outputs of that successful run from the
/// store into the app directory, byte for byte and with their mode. Each is checked against
/// the digest in the run record before it is placed, written beside its destination and
/// renamed into place; a path that would leave the app directory is refused. Docker image
/// outputs stay in their registry. Files a killed restore staged (`.ci3-restore-*`) are
/// removed by the next restore into their directory; SIGINT/SIGTERM removes them at once.
#[derive(Parser)]
#[command(name = "task_restore", version, after_help = help())]
struct Args {
    /// Tasks to restore (default: all).
    targets: Vec<String>,
    #[command(flatten)]
    lookup: LookupArgs,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  the outputs of every task are in place\n  1  usage or store error, or a stored output refused\n  2  a configuration that cannot be right\n  \
         3  a task has no successful run with its current inputs (nothing restored for it)\n  \
         128+N  stopped by signal N (143: SIGTERM), the file being staged removed"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("task_restore");
    // A restore stopped by Ctrl-C or a CI timeout removes the file it was staging before exiting.
    ci3::process::signals::install();
    ci3_tools::run(tool.name, || {
        let (repo, cwd) = args.repo.open(&tool)?;
        let ask = ci3_tools::tasks::ask(&tool, &args.lookup);
        let store = || tool.store();
        statuses::of_targets(&repo, &cwd, &args.targets, Shown::Selected, &ask, store, {
            |_, statuses, selected| restore_all(&tool, &repo, &statuses, selected)
        })
    })
}

/// Restores each task that is Exist, saying what is not: the exit code.
fn restore_all(
    tool: &Tool,
    repo: &ci3::tasks::Repo,
    statuses: &[ci3::tasks::status::TaskStatus<'_>],
    selected: &ci3::store::Selected,
) -> ci3::Result<i32> {
    let (mut missing, mut refused) = (0, 0);
    for s in statuses {
        if s.status != Status::Exist {
            tool.say(&format!(
                "{}: {}, no successful run with its current inputs: nothing restored",
                s.task.id(),
                s.status
            ));
            missing += 1;
            continue;
        }
        // A refused task is said and the rest restored (issue 17); a signal stops them all.
        if let Err(err) = ci3_tools::tasks::restore(tool, selected, repo, s) {
            if ci3::process::signals::received().is_some() {
                return Err(err);
            }
            let id = s.task.id();
            let line = err.to_string();
            match line.starts_with(&format!("{id}: ")) {
                true => tool.say(&line),
                false => tool.say(&format!("{id}: {line}")),
            }
            refused += 1;
        }
    }
    Ok(if refused > 0 {
        1
    } else if missing > 0 {
        3
    } else {
        0
    })
}
