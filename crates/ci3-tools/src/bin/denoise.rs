//! `denoise CMD`: run `bash -c CMD`; with DENOISE=1, dots instead of its output unless it fails.

use clap::Parser;

/// Runs `bash -c CMD`. With DENOISE=1 prints a dot per output line, and the output only if it fails.
#[derive(Parser)]
#[command(name = "denoise", version)]
struct Args {
    /// The shell command, as one argument.
    #[arg(allow_hyphen_values = true)]
    command: String,
}

fn main() {
    let args = Args::parse();
    ci3::cli::run("denoise", || ci3::helpers::denoise::run(&args.command))
}
