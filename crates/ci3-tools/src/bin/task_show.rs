//! `task_show TARGET|RUN_ID`: a task's configuration, or a recorded run.

use ci3::tasks::records;
use ci3_tools::tasks::baur;
use ci3_tools::tasks::show::{print_outputs, print_run, print_task, task_json};
use ci3_tools::tasks::table::Format;
use ci3_tools::tasks::{FormatArg, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Shows one task's configuration (command, inputs, outputs, the config files it was built
/// from), or the record of a run (inputs with digests, outputs with digests, sizes and where
/// they went, times, result, git commit, host).
#[derive(Parser)]
#[command(name = "task_show", version, after_help = help())]
#[command(mut_arg("format", |a| a.help("Output format: plain, csv (with --outputs) or json")))]
#[command(mut_arg("quiet", |a| a.help("With --outputs: only the URIs")))]
struct Args {
    /// APP.TASK, an app directory with one task, or a run (its id, or baur's run number).
    target: String,
    #[command(flatten)]
    format: FormatArg,
    /// Of a run: only its outputs, one row per place each went (URI, digest, size in MiB,
    /// type, method).
    #[arg(long)]
    outputs: bool,
    #[command(flatten)]
    quiet: QuietArg,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  shown\n  1  usage or store error, or no such task or run\n  \
         2  a configuration that cannot be right"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let tool = Tool::new(baur::name("task_show"));
    ci3_tools::run(tool.name, || {
        if records::is_run_ref(&args.target) {
            let selected = tool.store();
            let id = records::resolve(selected.store.as_ref(), &args.target)?;
            let r = records::require(selected.store.as_ref(), &selected.trust, &id).map_err(
                |e| match e.kind() {
                    // The wording of the original's `ls outputs`.
                    ci3::Kind::Miss if args.outputs => {
                        ci3::err!(Miss, "task run with ID {} does not exist", args.target)
                    }
                    _ => e,
                },
            )?;
            if args.outputs {
                print_outputs(&r, args.format.format, args.quiet.quiet);
            } else if args.format.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_run(&r);
            }
            return Ok(0);
        }
        if args.outputs {
            ci3::fail!(Usage, "'{}' is not a task run ID", args.target);
        }
        let (repo, cwd) = args.repo.open_quiet(&tool, args.quiet.quiet)?;
        let tasks = repo.select(&cwd, std::slice::from_ref(&args.target))?;
        if args.format.format == Format::Json {
            let list: Vec<_> = tasks.iter().map(|t| task_json(*t)).collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(0);
        }
        for (n, t) in tasks.iter().enumerate() {
            if n > 0 {
                println!();
            }
            print_task(*t);
        }
        Ok(0)
    })
}
