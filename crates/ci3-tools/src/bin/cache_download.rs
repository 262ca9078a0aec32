//! `cache_download NAME [OUT_DIR]`: extract artifact NAME into OUT_DIR (default `.`); exit 1 on a miss.

use std::path::PathBuf;
use std::time::Instant;

use ci3::cache::{self, Downloaded};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Extracts artifact NAME into OUT_DIR (created if missing), from CACHE_LOCAL_DIR when it has a
/// copy, else from the store. The archive's digest is checked and the tree staged before
/// anything is put in place; entries that would escape OUT_DIR are refused. Nothing on stdout.
#[derive(Parser)]
#[command(name = "cache_download", version, after_help = help())]
struct Args {
    /// The artifact name (the cache key).
    name: String,
    /// Where to extract (default: the current directory).
    #[arg(default_value = ".")]
    out_dir: PathBuf,
}

fn help() -> String {
    format!(
        "Environment:\n  NO_CACHE=1                   always a miss\n  CACHE_LOCAL_DIR              local tarball cache\n{STORE_ENV}\n\n\
         Exit status:\n  0  extracted\n  1  usage error, miss, \"disabled-cache\" name, NO_CACHE=1, or any failure (named on stderr)\n  \
         2  a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("cache_download");
    // A transfer stopped by Ctrl-C or a CI timeout cleans up after itself (temporary files, a
    // multipart upload) before the tool exits.
    ci3::process::signals::install();
    let selected = tool.store();
    let name = &args.name;
    let ctx = tool.context(&selected);
    let start = Instant::now();
    let code = match cache::download(&ctx, name, &args.out_dir) {
        Ok(Downloaded::Hit(_)) => {
            tool.say(&format!(
                "Cache download and extraction of {name} complete in {}s.",
                start.elapsed().as_secs()
            ));
            0
        }
        Ok(Downloaded::Skipped(_)) => 1,
        Ok(Downloaded::Miss) => {
            // The original's words first; then that this is the cache working, not broken.
            tool.say(&format!(
                "Cache download of {name} failed. Cache miss: not in {} (expected for a new key: build it).",
                selected.store.describe()
            ));
            1
        }
        Err(err) if err.kind() == ci3::Kind::Usage => {
            tool.say(&format!("cache_download: {err}"));
            1
        }
        Err(err) => {
            tool.say(&format!("Cache download of {name} failed. {err}"));
            1
        }
    };
    ci3_tools::exit(code)
}
