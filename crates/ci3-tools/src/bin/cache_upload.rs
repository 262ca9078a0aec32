//! `cache_upload NAME PATH...`: archive PATHs as artifact NAME into the local cache and the store.

use std::path::PathBuf;
use std::time::Instant;

use ci3::cache::{self, Uploaded};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Archives PATHs (relative to the cwd) as artifact NAME: tar+zstd when NAME ends in .zst, else
/// tar+gzip, with an integrity trailer the original tools ignore. Saved into CACHE_LOCAL_DIR when
/// set, and uploaded to the store: always to a directory store, to S3 only with CI=1 or
/// S3_FORCE_UPLOAD. A NAME containing "disabled-cache" is never uploaded. Nothing on stdout.
#[derive(Parser)]
#[command(name = "cache_upload", version, after_help = help())]
struct Args {
    /// The artifact name (the cache key), e.g. app-0123456789abcdef.tar.zst.
    name: String,
    /// Files and directories to archive.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn help() -> String {
    format!(
        "Environment:\n  CI=1, S3_FORCE_UPLOAD        allow S3 uploads (force: replace an existing object)\n  \
         NO_CACHE_UPLOAD=1            do nothing\n  CACHE_LOCAL_DIR              local tarball cache\n{STORE_ENV}\n\n\
         Exit status:\n  0  uploaded, skipped, or the store was unavailable (a build never fails for the cache)\n  \
         1  usage error, or an input path does not exist\n  2  a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(1);
    let tool = Tool::new("cache_upload");
    // A transfer stopped by Ctrl-C or a CI timeout cleans up after itself (temporary files, a
    // multipart upload) before the tool exits.
    ci3::process::signals::install();
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let ctx = tool.context(&selected);
        let start = Instant::now();
        let cwd = std::env::current_dir().map_err(|e| {
            ci3::Error::new(
                ci3::Kind::Io,
                format!("cannot read the current directory: {e}"),
            )
        })?;
        let name = &args.name;
        match cache::upload(&ctx, name, &args.paths, &cwd)? {
            Uploaded::Stored => tool.say(&format!(
                "Cache upload of {name} complete in {}s.",
                start.elapsed().as_secs()
            )),
            Uploaded::Failed(err) => tool.say(&format!("Cache upload of {name} failed. {err}")),
            Uploaded::Skipped | Uploaded::LocalOnly => {}
        }
        Ok(0)
    })
}
