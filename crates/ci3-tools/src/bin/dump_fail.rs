//! `dump_fail CMD`: run `bash -c CMD` quietly; its output goes to stderr only if it fails.

use clap::Parser;

/// Runs `bash -c CMD`: on success prints its stdout; on failure prints both streams on stderr.
#[derive(Parser)]
#[command(name = "dump_fail", version)]
struct Args {
    /// The shell command, as one argument.
    #[arg(allow_hyphen_values = true)]
    command: String,
}

fn main() {
    let args = Args::parse();
    ci3::cli::run("dump_fail", || ci3::helpers::dump_fail::run(&args.command))
}
