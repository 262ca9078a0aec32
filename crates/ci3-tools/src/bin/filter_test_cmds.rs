//! `filter_test_cmds`: pass on the test lines of stdin that still need to run.

use std::io::{self, BufReader};

use clap::Parser;

/// Reads test lines (HASH[:KEY=VALUE]... COMMAND) on stdin and prints, in order, those that
/// still need to run: a line matching the `regex` of a `skip: true` entry of
/// $root/.test_patterns.yml goes, and so does a test line whose pass is in the store's test
/// cache (recorded by run_test_cmd or parallelize in CI). Each line that goes is told as
/// `SKIPPED: LINE` on fd 3 when it is open, else on stderr.
#[derive(Parser)]
#[command(name = "filter_test_cmds", version, after_help = help())]
struct Args {}

fn help() -> String {
    format!(
        "Environment:\n  \
         root                   the repo root holding .test_patterns.yml (else the git top level)\n  \
         USE_TEST_CACHE=0       do not consult the test cache\n  \
         NO_CACHE=1             do not consult the test cache\n  \
         CI3_TEST_CACHE_TTL     seconds a recorded pass counts (default 604800, 7 days)\n{}\n\n\
         Lines containing disabled-cache, and plain commands, are never skipped by the cache.\n\n\
         Exit status:\n  \
         0  the lines were filtered (a test cache that cannot be asked keeps its lines)\n  \
         1  stdin could not be read, or there is no repo root\n  \
         2  .test_patterns.yml or the store configuration cannot be right",
        ci3_tools::STORE_ENV
    )
}

fn main() {
    // Before anything opens a file that could take the number.
    let fd3 = ci3::helpers::filter_test_cmds::fd3();
    let _: Args = ci3_tools::parse(2);
    let tool = ci3_tools::Tool::new("filter_test_cmds");
    let selected = ci3::helpers::filter_test_cmds::cache_on(&tool.settings).then(|| tool.store());
    ci3_tools::run(tool.name, || {
        let store = selected.as_ref().map(|s| (s.store.as_ref(), &s.trust));
        let input = BufReader::new(io::stdin().lock());
        ci3::helpers::filter_test_cmds::run(
            &tool.settings,
            store,
            input,
            &mut io::stdout().lock(),
            fd3,
        )
    })
}
