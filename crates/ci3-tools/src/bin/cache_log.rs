//! `cache_log NAME [KEY]`: keep stdin as the log object `.ci3/logs/KEY.log` in the store.

use clap::Parser;

/// Reads stdin to its end and stores it as the log `.ci3/logs/KEY.log` in the configured store
/// (always for a directory store; for S3 only with CI=1 or S3_FORCE_UPLOAD set). Says where it
/// went on stderr. DUP=1 also copies stdin to stdout as it arrives. Exit 0 even when the store
/// fails: a build never fails because logging is unavailable.
#[derive(Parser)]
#[command(name = "cache_log", version)]
struct Args {
    /// What the log is, for the message (free text, e.g. "Build noir").
    name: String,
    /// The log's key (default: a new random 16-hex-char key), e.g. from `uuid`.
    key: Option<String>,
}

fn main() {
    let args = Args::parse();
    ci3::cli::run("cache_log", || {
        ci3::helpers::cache_log::run(&args.name, args.key.as_deref())
    })
}
