//! `task_graph [TARGET...]`: the task graph of the targets and their upstream tasks, each with
//! its status.

use ci3::tasks::graph::render;
use ci3::tasks::statuses::{self, Shown};
use ci3_tools::tasks::{baur, LookupArgs, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Prints the task graph: task B depends on task A when one of B's file inputs matches a path
/// one of A's File outputs writes, or when B's TaskInfos names A. Each task with its status
/// (downstream of a task that is not Exist is Pending). Targets: APP.TASK, APP, APP.*, *.TASK,
/// *, or an app directory; none means all tasks; their upstream tasks are shown too.
#[derive(Parser)]
#[command(name = "task_graph", version, after_help = help())]
struct Args {
    /// Tasks to show with their upstream tasks (default: all).
    targets: Vec<String>,
    /// Output format: plain (one line per task, upstream first), dot (Graphviz) or json.
    #[arg(long, default_value = "plain")]
    format: String,
    #[command(flatten)]
    lookup: LookupArgs,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  printed\n  1  usage or resolution error\n  \
         2  a configuration that cannot be right, or a cycle in the graph (its tasks named)"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let tool = Tool::new(baur::name("task_graph"));
    ci3_tools::run(tool.name, || {
        if !matches!(args.format.as_str(), "plain" | "dot" | "json") {
            ci3::fail!(
                Usage,
                "unknown format \"{}\" (plain, dot or json)",
                args.format
            );
        }
        let (repo, cwd) = args.repo.open(&tool)?;
        let ask = ci3_tools::tasks::ask(&tool, &args.lookup);
        let upstream = Shown::WithUpstream;
        let store = || tool.store();
        let text = statuses::of_targets(&repo, &cwd, &args.targets, upstream, &ask, store, {
            |graph, statuses, _| match args.format.as_str() {
                "dot" => Ok(render::dot(graph, &statuses)),
                "json" => render::json(graph, &statuses),
                _ => Ok(render::plain(graph, &statuses)),
            }
        })?;
        print!("{text}");
        Ok(0)
    })
}
