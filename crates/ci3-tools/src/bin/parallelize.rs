//! `parallelize [JOBS]`: run the shell commands read from stdin (one per line), JOBS at once.

use clap::Parser;

/// Runs the shell commands read from stdin, one per line, at most JOBS at once. Fails fast on the
/// first failure unless NO_FAIL_FAST=1; writes a joblog to $JOBLOG (else a temp file).
#[derive(Parser)]
#[command(name = "parallelize", version)]
struct Args {
    /// How many jobs run at once (default: half the CPUs, at least 1).
    #[arg(value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
}

pub fn main() {
    let args = Args::parse();
    ci3::cli::run("parallelize", || {
        ci3::helpers::parallelize::run(args.jobs.map(|n| n as usize))
    })
}
