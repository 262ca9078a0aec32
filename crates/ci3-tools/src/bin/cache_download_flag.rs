//! `cache_download_flag NAME...`: exit 0 when every flag NAME is recorded, else 1.

use ci3::cache;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Checks that every success flag NAME (the objects NAME.flag) is in the store, so a deploy step
/// can require all projects' flags of a commit at once. Nothing on stdout.
#[derive(Parser)]
#[command(name = "cache_download_flag", version, after_help = help())]
struct Args {
    /// Flag names.
    #[arg(required = true)]
    names: Vec<String>,
}

fn help() -> String {
    format!(
        "Environment:\n  NO_CACHE=1                   every flag is absent\n{STORE_ENV}\n\n\
         Exit status:\n  0  every flag exists\n  1  one is missing, an invalid NAME, or the store cannot be asked\n  \
         2  usage error, or a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_download_flag");
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let ctx = tool.context(&selected);
        match cache::download_flags(&ctx, &args.names) {
            Ok(all) => Ok(if all { 0 } else { 1 }),
            Err(err) if err.kind() == ci3::Kind::Usage => Err(err),
            Err(err) => {
                tool.say(&format!("Cannot check test flags: {err}"));
                Ok(1)
            }
        }
    })
}
