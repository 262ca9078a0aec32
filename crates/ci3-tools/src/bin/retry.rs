//! `retry CMD`: run `bash -c CMD` up to 3 times, `RETRY_SLEEP` seconds apart (default 5).

use clap::Parser;

/// Runs `bash -c CMD` up to 3 times, RETRY_SLEEP seconds apart (default 5); exit 1 if all fail.
#[derive(Parser)]
#[command(name = "retry", version)]
struct Args {
    /// The shell command, as one argument.
    #[arg(allow_hyphen_values = true)]
    command: String,
}

fn main() {
    let args = Args::parse();
    ci3::cli::run("retry", || ci3::helpers::retry::run(&args.command))
}
