//! `test_should_run NAME`: exit 1 (skip) only when CI=1 and test NAME's success flag exists.

use ci3::cache::{self, ShouldRun};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Decides whether test NAME must run here and now: always outside CI; in CI unless its success
/// flag NAME.flag is already recorded. Says why on stderr.
#[derive(Parser)]
#[command(name = "test_should_run", version, after_help = help())]
struct Args {
    /// The test's flag name.
    name: String,
}

fn help() -> String {
    format!(
        "Environment:\n  CI=1                         skip a test whose flag is recorded (else every test runs)\n{STORE_ENV}\n\n\
         Exit status:\n  0  run it (also when the store configuration cannot be right: said on stderr)\n  \
         1  skip it (CI=1 and the flag exists)\n  2  usage error"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("test_should_run");
    let selected = tool.store_or_exit(Some(0));
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        let ctx = tool.context(&selected);
        let decision = cache::test_should_run(&ctx, name)?;
        tool.say(&match decision {
            ShouldRun::NotInCi => format!("Running test {name}: CI=0 runs every test."),
            ShouldRun::NoFlag => format!("Running test {name}: no success flag found."),
            ShouldRun::Unknown(_) => {
                format!("Running test {name}: the store could not say whether it passed.")
            }
            ShouldRun::AlreadyPassed => {
                format!("Skipping test {name}: it already passed (flag {name}.flag found).")
            }
        });
        Ok(if decision.runs() { 0 } else { 1 })
    })
}
