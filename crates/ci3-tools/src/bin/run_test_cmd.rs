//! `run_test_cmd LINE`: run one test line (`HASH[:KEY=VALUE]... COMMAND`) and say how it went.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use clap::Parser;

/// Runs one line of the test pipeline: COMMAND with `bash -c` from $root, its knobs exported
/// (CPUS default 2, MEM default CPUS*4 g, TIMEOUT default 600s), pinned to CPUS cores when the
/// machine has more, stopped at TIMEOUT (its whole process group: TERM, then KILL after 10 s).
/// Prints `PASSED: CMD (Ns)`, or `FAILED: CMD (Ns) (code: N)` and the tail of its output.
/// In CI a pass is recorded in the store's test cache (what filter_test_cmds skips). A line
/// whose first word is not HASH[:KEY=VALUE]... runs as a plain shell command.
#[derive(Parser)]
#[command(name = "run_test_cmd", version, after_help = help())]
struct Args {
    /// The test line; several words are joined with spaces.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    line: Vec<OsString>,
}

fn help() -> String {
    format!(
        "Line knobs (exported to the command):\n  \
         CPUS=N     cores (default 2)     MEM=8g    memory (default CPUS*4 g)\n  \
         TIMEOUT=T  600, 90s, 20m, 1h (default 600s; 0: none)\n  \
         NAME=N     a display name        ISOLATE=1 run in a container (docker or podman)\n\n\
         Environment:\n  \
         root                   the repo root commands run from (else the git top level)\n  \
         CPUS, MEM, TIMEOUT     defaults for lines that do not give them\n  \
         CPU_LIST               cores to pin to, as for taskset -c (0-3,8)\n  \
         CI=1                   record a pass in the test cache\n  \
         GITHUB_RUN_URL         recorded with a pass\n  \
         CI3_ISOLATE_IMAGE      the image of ISOLATE=1 tests (default {})\n{}\n\n\
         Exit status:\n  \
         the test's own, 124 when it was stopped at its timeout, 125 when it could not run\n  \
         as its line asks (a knob that cannot be right, no container engine), 0 for an empty line",
        ci3::helpers::run_test::ISOLATE_IMAGE,
        ci3_tools::STORE_ENV
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = ci3_tools::Tool::new("run_test_cmd");
    let line: Vec<u8> = args
        .line
        .iter()
        .map(|w| w.as_bytes())
        .collect::<Vec<_>>()
        .join(&b' ');
    ci3_tools::run(tool.name, || {
        ci3::helpers::run_test::run(&tool.settings, tool.reporter.clone(), &line)
    })
}
