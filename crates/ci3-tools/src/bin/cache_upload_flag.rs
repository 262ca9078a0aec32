//! `cache_upload_flag NAME`: record in the store that NAME passed (CI only).

use ci3::cache::{self, FlagUpload};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Records success flag NAME (the object NAME.flag) in the store, with what passed (run URL,
/// host, time, commit). Only in CI: at CI=0 it says so and does nothing. Nothing on stdout.
#[derive(Parser)]
#[command(name = "cache_upload_flag", version, after_help = help())]
struct Args {
    /// The flag name, e.g. tests-0123456789abcdef.
    name: String,
}

fn help() -> String {
    format!(
        "Environment:\n  CI=1                         required to record anything\n  \
         GITHUB_RUN_URL               recorded in the flag\n{STORE_ENV}\n\n\
         Exit status:\n  0  recorded, or skipped, or the store was unavailable (a build never fails for the cache)\n  \
         1  an invalid NAME\n  2  usage error, or a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_upload_flag");
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        let ctx = tool.context(&selected);
        let commit = ci3::git::head_commit(std::path::Path::new("."));
        match cache::upload_flag(&ctx, name, commit.as_deref())? {
            FlagUpload::Sentinel => tool.say(&format!(
                "Not uploading test flag {name} due to uncommitted changes/files."
            )),
            FlagUpload::NotInCi => {
                tool.say(&format!("Not uploading test flag {name} because CI=0."))
            }
            FlagUpload::Recorded => tool.say(&format!("Uploaded test flag {name}.")),
            FlagUpload::Failed(err) => {
                tool.say(&format!("Could not upload test flag {name}: {err}"))
            }
        }
        Ok(0)
    })
}
