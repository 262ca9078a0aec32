//! `parallelize [JOBS]`: run the shell commands read from stdin (one per line), JOBS at once.

use clap::Parser;

/// Runs the shell commands read from stdin, one per line, at most JOBS at once. Fails fast on the
/// first failure unless NO_FAIL_FAST=1; writes a joblog to $JOBLOG (else a temp file).
#[derive(Parser)]
#[command(name = "parallelize", version, after_help = HELP)]
struct Args {
    /// How many jobs run at once (default: half the CPUs, at least 1).
    #[arg(value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
}

const HELP: &str = "\
Environment:
  NO_FAIL_FAST=1   run every command whatever fails
  JOBLOG           where the joblog goes (else a temp file named on stderr)

Exit status:
  0  every command succeeded
  1  a command failed
  2  usage error";

pub fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = ci3_tools::Tool::new("parallelize");
    ci3_tools::run(tool.name, || {
        ci3::helpers::parallelize::run(&tool.settings, args.jobs.map(|n| n as usize))
            .map_err(ci3_tools::from_anyhow)
    })
}
