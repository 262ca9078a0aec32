//! `content_hash [--worktree] [--json] PATTERN_FILE_OR_REGEX...`: a 128-bit key over the path,
//! mode and object id of every matching file.

use std::ffi::OsString;

use ci3::content::{self, Resolved, Source};
use clap::Parser;
use serde_json::json;

/// Prints a cache key covering path, mode and content of every file matching the patterns.
#[derive(Parser)]
#[command(name = "content_hash", version)]
struct Args {
    /// Hash the files as they are on disk (dirty, staged and untracked-not-ignored included).
    #[arg(long)]
    worktree: bool,
    /// Print the matched entries and the key as JSON.
    #[arg(long)]
    json: bool,
    /// Pattern files or POSIX extended regexes, matched against repo-relative paths.
    #[arg(required = true, allow_hyphen_values = true)]
    patterns: Vec<OsString>,
}

fn main() {
    let args = Args::parse();
    ci3::cli::run("content_hash", || {
        let source = if args.worktree {
            Source::Worktree
        } else {
            Source::Committed
        };
        let platform = ci3::platform::tag();
        match content::resolve(&args.patterns, source)? {
            Resolved::Entries(entries) => {
                let key = ci3::key::strong(&entries, &platform);
                if args.json {
                    let list: Vec<_> = entries
                        .iter()
                        .map(|e| json!({"path": lossy(&e.path), "mode": e.mode.octal(), "id": e.id.to_string()}))
                        .collect();
                    println!(
                        "{}",
                        json!({"key": key, "platform": platform, "entries": list})
                    );
                } else {
                    println!("{key}");
                }
            }
            Resolved::Dirty(paths) => {
                let key = content::dirty_key(&paths)?;
                if args.json {
                    let dirty: Vec<_> = paths.iter().map(|p| lossy(p)).collect();
                    println!(
                        "{}",
                        json!({"key": key, "platform": platform, "dirty": dirty})
                    );
                } else {
                    println!("{key}");
                }
            }
        }
        Ok(0)
    })
}

fn lossy(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}
