//! `test_should_run NAME`: exit 0 when test NAME must run (TEST=1 or CI=1, and no flag yet).

use ci3::cache::{self, ShouldRun};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Decides whether test NAME must run here and now: with TEST=1 or CI=1, unless its success flag
/// NAME.flag is already recorded. Says why on stderr.
#[derive(Parser)]
#[command(name = "test_should_run", version, after_help = help())]
struct Args {
    /// The test's flag name.
    name: String,
}

fn help() -> String {
    format!(
        "Environment:\n  TEST=0|1                     force skip / consider running\n  CI=1                         consider running\n{STORE_ENV}\n\n\
         Exit status:\n  0  run it (also when the store configuration cannot be right: said on stderr)\n  \
         1  skip it, or usage error"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("test_should_run");
    let selected = tool.store_or_exit(Some(0));
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        let ctx = tool.context(&selected);
        Ok(match cache::test_should_run(&ctx, name)? {
            ShouldRun::Run => 0,
            ShouldRun::AlreadyPassed => {
                tool.say(&format!(
                    "Not running {name}: it already passed (flag found)."
                ));
                1
            }
            ShouldRun::TestOff | ShouldRun::NotInCi => 1,
        })
    })
}
