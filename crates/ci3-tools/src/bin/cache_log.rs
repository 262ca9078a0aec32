//! `cache_log NAME [KEY]`: keep stdin as the log object `.ci3/logs/KEY.log` in the store.

use ci3::cache::log;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Reads stdin to its end and stores it as the log `.ci3/logs/KEY.log` in the configured store
/// (always for a directory store; for S3 only with CI=1 or S3_FORCE_UPLOAD set). Says where it
/// went on stderr. DUP=1 also copies stdin to stdout as it arrives.
#[derive(Parser)]
#[command(name = "cache_log", version, after_help = help())]
struct Args {
    /// What the log is, for the message (free text, e.g. "Build noir").
    name: String,
    /// The log's key (default: a new random 16-hex-char key), e.g. from `uuid`.
    key: Option<String>,
}

fn help() -> String {
    format!(
        "Environment:\n  DUP=1                        copy stdin to stdout\n  \
         CI=1, S3_FORCE_UPLOAD        allow storing in S3\n{STORE_ENV}\n\n\
         Exit status:\n  0  read to its end (stored or not: a build never fails because logging is unavailable)\n  \
         1  an invalid KEY\n  2  usage error, or a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_log");
    let selected = match ci3::store::open(&tool.settings, tool.reporter.clone()) {
        Ok(selected) => selected,
        Err(err) => {
            // Still read the log to its end (and show it with DUP=1): the command writing it
            // must not die of SIGPIPE, and its output is not lost.
            let mut input = std::io::stdin().lock();
            let _ = match tool.settings.helpers.dup {
                true => std::io::copy(&mut input, &mut std::io::stdout().lock()),
                false => std::io::copy(&mut input, &mut std::io::sink()),
            };
            eprintln!("cache_log: {}", ci3_tools::one_line(&err.to_string()));
            std::process::exit(err.exit_code())
        }
    };
    ci3_tools::run(tool.name, || {
        let ctx = tool.context(&selected);
        let stdout = std::io::stdout();
        let mut dup = tool.settings.helpers.dup.then(|| stdout.lock());
        log::store_log(
            &ctx,
            &args.name,
            args.key.as_deref(),
            &mut std::io::stdin().lock(),
            dup.as_mut().map(|o| o as &mut dyn std::io::Write),
        )?;
        Ok(0)
    })
}
