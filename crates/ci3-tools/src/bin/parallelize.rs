//! `parallelize [JOBS]`: run the shell commands read from stdin (one per line), JOBS at once.

use clap::Parser;

/// Runs the lines read from stdin, at most JOBS at once, from $root. A test line
/// (HASH[:KEY=VALUE]... COMMAND) runs as run_test_cmd runs it (knobs, timeout, PASSED/FAILED,
/// a pass recorded in the test cache in CI) and holds CPUS cores (default 2) of the machine
/// while it runs; any other line is a plain shell command whose output is printed whole.
/// Fails fast on the first failure unless NO_FAIL_FAST=1; writes a joblog (sequence, exit
/// status, seconds, line).
#[derive(Parser)]
#[command(name = "parallelize", version, after_help = HELP)]
struct Args {
    /// How many jobs run at once (default: half the CPUs, at least 1).
    #[arg(value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
}

const HELP: &str = "\
Environment:
  root             the repo root the lines run from (else the git top level)
  NO_FAIL_FAST=1   run every command whatever fails
  JOBLOG           where the joblog goes (else $root/joblog.txt, named on stderr)
  CI3_SLOW_TEST    seconds past which a test is listed as slow (default 300)
  CPUS, MEM, TIMEOUT, CI, GITHUB_RUN_URL, CI3_ISOLATE_IMAGE, the store's: as for run_test_cmd

Exit status:
  0  every command succeeded
  1  a command failed
  2  usage error";

pub fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = ci3_tools::Tool::new("parallelize");
    ci3_tools::run(tool.name, || {
        let jobs = args.jobs.map(|n| n as usize);
        ci3::helpers::parallelize::run(&tool.settings, tool.reporter.clone(), jobs)
    })
}
