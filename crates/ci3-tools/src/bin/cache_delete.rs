//! `cache_delete NAME`: delete artifact NAME from the store; exit 1 when it was not there.

use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Deletes artifact NAME from the store. Nothing on stdout.
#[derive(Parser)]
#[command(name = "cache_delete", version, after_help = help())]
struct Args {
    /// The artifact name.
    name: String,
}

fn help() -> String {
    format!(
        "Environment:\n{STORE_ENV}\n\n\
         Exit status:\n  0  deleted\n  1  it was not there, an invalid NAME, or the store failed\n  \
         2  usage error, or a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_delete");
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        let store = selected.store.as_ref();
        if store.delete(name)? {
            tool.say(&format!("Deleted {name} from {}.", store.describe()));
            Ok(0)
        } else {
            tool.say(&format!("{name} is not in {}.", store.describe()));
            Ok(1)
        }
    })
}
