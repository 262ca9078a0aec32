//! `content_hash [--worktree] [--json] [--explain NAME] PATTERN_FILE_OR_REGEX...`: a 128-bit key
//! over the path, mode and object id of every matching file.

use std::ffi::OsString;

use ci3::hash::{self, manifest, Resolved, Source};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;
use serde_json::json;

/// Prints a cache key covering path, mode and content of every file matching the patterns.
#[derive(Parser)]
#[command(name = "content_hash", version, after_help = help())]
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
    /// Pattern files, ^regexes or directories, as for cache_content_hash (a name starting with -
    /// after `--`).
    #[arg(required = true)]
    patterns: Vec<OsString>,
}

fn help() -> String {
    format!(
        "Environment:\n  CI=1, AZTEC_CACHE_COMMIT, REPO_PATH, PLATFORM_TAG   as for cache_content_hash\n\
         With --explain, the store that holds the manifests:\n{STORE_ENV}\n\n\
         Exit status:\n  0  a key (or the explanation) on stdout; disabled-cache for uncommitted changes\n  \
         1  nothing matched (disabled-cache on stdout), a missing pattern file, or any failure\n  \
         2  usage error, or a store configuration that cannot be right (--explain)"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("content_hash");
    if let Some(name) = &args.explain {
        let selected = tool.store();
        ci3_tools::run(tool.name, || {
            explain(&tool, &selected, name, &args.patterns)
        });
    }
    ci3_tools::run(tool.name, || {
        let settings = &tool.settings;
        let source = if args.worktree {
            Source::Worktree
        } else {
            Source::Committed
        };
        let platform = ci3::platform::tag(&settings.hashing);
        match hash::resolve(settings, &args.patterns, source)? {
            Resolved::Entries(entries, patterns) => {
                let key = hash::strong(&entries, &platform);
                let manifest = manifest::Manifest::new(&key, &platform, &patterns, &entries);
                if args.json {
                    let text = serde_json::to_string(&manifest)
                        .map_err(|e| ci3::Error::new(ci3::Kind::Io, e.to_string()))?;
                    println!("{text}");
                } else {
                    println!("{key}");
                }
                manifest::remember(&manifest::local_dir(settings), &key, || manifest.clone());
            }
            Resolved::Dirty(paths) => {
                let (key, warning) = hash::dirty_key(settings, &paths);
                tool.say(&warning.unwrap_or_else(|| ci3_tools::dirty_note(&paths)));
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
            Resolved::Unmatched(message) => {
                tool.say(&message);
                println!("{}", hash::SENTINEL);
                return Ok(1);
            }
        }
        Ok(0)
    })
}

fn explain(
    tool: &Tool,
    selected: &ci3::store::Selected,
    name: &str,
    patterns: &[OsString],
) -> Result<i32, ci3::Error> {
    let store = selected.store.as_ref();
    let changes = manifest::explain(&tool.settings, store, &selected.trust, name, patterns)?;
    if changes.is_empty() {
        tool.say(&format!("The inputs on disk are those of {name}."));
    }
    print!("{}", manifest::render(&changes));
    Ok(0)
}
