//! `content_hash [--worktree] [--json] [--explain NAME] PATTERN_FILE_OR_REGEX...`: a 128-bit key
//! over the path, mode and object id of every matching file.

use std::ffi::OsString;

use ci3::hash::{self as content, Resolved, Source};
use ci3::hash::manifest::{self, Manifest};
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
    /// Instead of a key, print how the inputs on disk differ from those of artifact NAME:
    /// `M path` (content), `T path (mode)`, `+ path` (added), `- path` (removed).
    #[arg(long, value_name = "NAME")]
    explain: Option<String>,
    /// Pattern files or POSIX extended regexes, matched against repo-relative paths.
    #[arg(required = true, allow_hyphen_values = true)]
    patterns: Vec<OsString>,
}

fn main() {
    let args = Args::parse();
    ci3::cli::run("content_hash", || {
        if let Some(name) = &args.explain {
            return explain(name, &args.patterns);
        }
        let source = if args.worktree {
            Source::Worktree
        } else {
            Source::Committed
        };
        let platform = ci3::platform::tag();
        match content::resolve(&args.patterns, source)? {
            Resolved::Entries(entries, patterns) => {
                let key = ci3::hash::strong(&entries, &platform);
                let manifest = Manifest::new(&key, &platform, &patterns, &entries);
                if args.json {
                    println!("{}", serde_json::to_string(&manifest)?);
                } else {
                    println!("{key}");
                }
                manifest::remember(&key, || manifest.clone());
            }
            Resolved::Dirty(paths) => {
                let key = content::dirty_key(&paths)?;
                if args.json {
                    let dirty: Vec<_> = paths.iter().map(|p| String::from_utf8_lossy(p)).collect();
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

fn explain(name: &str, patterns: &[OsString]) -> anyhow::Result<i32> {
    let now = manifest::on_disk(ci3::hash::patterns::load(patterns)?)?;
    let store = ci3::store::from_env()?.store;
    let Some(then) = manifest::find(name, store.as_ref())? else {
        anyhow::bail!(
            "no input manifest stored for {name} in {}",
            store.describe()
        );
    };
    let changes = manifest::diff(&then.entries, &now);
    if changes.is_empty() {
        eprintln!("The inputs on disk are those of {name}.");
    }
    print!("{}", manifest::render(&changes));
    Ok(0)
}
