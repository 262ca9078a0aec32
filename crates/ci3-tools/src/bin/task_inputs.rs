//! `task_inputs TARGET|RUN_ID`: the inputs of one task as they are now, or of a recorded run.

use ci3::digest::Digest;
use ci3::tasks::inputs::{Input, Resolver};
use ci3::tasks::records;
use ci3_tools::tasks::baur;
use ci3_tools::tasks::table::{self, Column, Format};
use ci3_tools::tasks::{FormatArg, InputStrArg, QuietArg, RepositoryArg, TASK_ENV};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Lists the inputs of one task (resolved now) or of a recorded run (as recorded): files by
/// path, environment variables as $NAME (never their values), input strings, other tasks.
#[derive(Parser)]
#[command(name = "task_inputs", version, after_help = help())]
#[command(mut_arg("input_str", |a| a.help("A string that counts as an input of the task, not of a run (repeatable)")))]
#[command(mut_arg("quiet", |a| a.help("No header line, and no total input digest")))]
struct Args {
    /// APP.TASK, an app directory with one task, or a run (its id, or baur's run number).
    target: String,
    /// Show each input's digest, and the total input digest.
    #[arg(long)]
    digests: bool,
    #[command(flatten)]
    format: FormatArg,
    #[command(flatten)]
    quiet: QuietArg,
    #[command(flatten)]
    input_str: InputStrArg,
    #[command(flatten)]
    repo: RepositoryArg,
}

fn help() -> String {
    format!(
        "Environment:\n{TASK_ENV}\n{STORE_ENV}\n\n\
         Exit status:\n  0  listed\n  1  usage or resolution error, or no such run\n  \
         2  a configuration that cannot be right"
    )
}

fn main() {
    let args: Args = baur::parse(2);
    let tool = Tool::new(baur::name("task_inputs"));
    ci3_tools::run(tool.name, || {
        let (inputs, total): (Vec<Input>, Digest) = if records::is_run_ref(&args.target) {
            if !args.input_str.input_str.is_empty() {
                ci3::fail!(Usage, "--input-str can only be specified for task-names");
            }
            let selected = tool.store();
            let id = records::resolve(selected.store.as_ref(), &args.target)?;
            let r = records::load(selected.store.as_ref(), &selected.trust, &id)?
                .ok_or_else(|| ci3::err!(Miss, "{}: no such run", args.target))?;
            (r.inputs, r.total_digest)
        } else {
            let (repo, cwd) = args.repo.open_quiet(&tool, args.quiet.quiet)?;
            let tasks = repo.select(&cwd, std::slice::from_ref(&args.target))?;
            let task = ci3::tasks::targets::one(&args.target, &tasks)?;
            let co = repo.checkout(&tool.settings)?;
            let resolver =
                Resolver::open(&repo.root, &co, &tool.settings, &args.input_str.input_str)?;
            let r = resolver.resolve(task)?;
            (r.inputs, r.total)
        };
        let mut columns = vec![Column::new("input", "Input", "Input")];
        if args.digests {
            columns.push(Column::new("digest", "Digest", "Digest"));
        }
        let rows: Vec<Vec<String>> = inputs
            .iter()
            .map(|i| {
                let mut row = vec![i.shown()];
                if args.digests {
                    row.push(i.digest.prefixed());
                }
                row
            })
            .collect();
        match args.format.format {
            Format::Json if args.digests => {
                let list: Vec<serde_json::Value> = inputs
                    .iter()
                    .map(|i| serde_json::json!({"Input": i.shown(), "Digest": i.digest}))
                    .collect();
                let doc = serde_json::json!({"Inputs": list, "TotalInputDigest": total});
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            f => {
                // The original's CSV here, unlike its other listings, has a header line.
                if f == Format::Csv && !args.quiet.quiet {
                    let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
                    println!("{}", headers.join(","));
                }
                print!("{}", table::render(f, &columns, &rows, !args.quiet.quiet));
                if args.digests && f == Format::Plain && !args.quiet.quiet {
                    println!("\nTotal Input Digest: {}", total.prefixed());
                }
            }
        }
        Ok(0)
    })
}
