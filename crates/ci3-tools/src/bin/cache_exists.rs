//! `cache_exists NAME`: exit 0 when artifact NAME is in the store (exact name), else 1.

use ci3::cache::policy;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Tells whether artifact NAME is in the store (the exact name, not a prefix). Nothing on stdout.
#[derive(Parser)]
#[command(name = "cache_exists", version, after_help = help())]
struct Args {
    /// The artifact name.
    name: String,
}

fn help() -> String {
    format!(
        "Environment:\n  NO_CACHE=1                   always absent\n{STORE_ENV}\n\n\
         Exit status:\n  0  present\n  1  absent, \"disabled-cache\" name, NO_CACHE=1, an invalid NAME, or the store cannot be asked\n  \
         2  usage error, or a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_exists");
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        if policy::read_skip(&tool.settings, name).is_some() {
            return Ok(1);
        }
        match selected.store.exists(name) {
            Ok(found) => Ok(if found { 0 } else { 1 }),
            Err(err) if err.kind() == ci3::Kind::Usage => Err(err),
            Err(err) => {
                tool.say(&format!("cache_exists: cannot check {name}: {err}"));
                Ok(1)
            }
        }
    })
}
