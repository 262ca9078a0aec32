//! `cache_content_hash PATTERN_FILE_OR_REGEX...`: the original ci3 content hash of the committed
//! files matching the patterns, or `disabled-cache` when some of them have uncommitted changes.

use std::ffi::OsString;

use ci3::hash::{self, manifest, Resolved, Source};
use ci3_tools::Tool;
use clap::Parser;

/// Prints the original ci3 key of the committed files matching the patterns: 16 hex chars, or
/// "disabled-cache" when a matching file is modified, staged or untracked.
///
/// Each argument is a pattern file (its lines are POSIX EREs, matched unanchored against
/// repo-relative paths), a regex starting with ^, or a directory (covering that directory).
#[derive(Parser)]
#[command(name = "cache_content_hash", version, after_help = HELP)]
struct Args {
    /// Pattern files, ^regexes or directories.
    #[arg(required = true, allow_hyphen_values = true)]
    patterns: Vec<OsString>,
}

const HELP: &str = "\
Environment:
  CI=1                 uncommitted changes get the original's WARNING line (else a short note)
  AZTEC_CACHE_COMMIT   the tree-ish to hash instead of HEAD
  REPO_PATH            hash inside this checkout (relative to the cwd)
  PLATFORM_TAG         replaces the platform tag (default: $OSTYPE-$(uname -m))
  XDG_CACHE_HOME       where index tables and input manifests are kept

Exit status:
  0  a key, or disabled-cache for uncommitted changes (at any CI value), on stdout
  1  no arguments, a missing pattern file or directory, or no file matched (disabled-cache
     on stdout then, so a nested $(...) disables the cache instead of giving a constant key)
  2  an argument that reads as an option (-x, --name) but names no file or directory";

fn main() {
    // The original's exit 1 for no arguments; a mistyped option is a usage error (2).
    let args: Args = ci3_tools::parse(1);
    ci3_tools::refuse_stray_option::<Args>(&args.patterns);
    let tool = Tool::new("cache_content_hash");
    ci3_tools::run(tool.name, || {
        let settings = &tool.settings;
        let resolved = hash::resolve(settings, &args.patterns, Source::Committed)?;
        let (key, code) = match resolved {
            Resolved::Entries(entries, patterns) => {
                let platform = ci3::platform::tag(&settings.hashing);
                let key = hash::ci3(&entries, &platform);
                manifest::remember(&manifest::local_dir(settings), &key, || {
                    manifest::Manifest::new(&key, &platform, &patterns, &entries)
                });
                (key, 0)
            }
            Resolved::Dirty(paths) => {
                let (key, warning) = hash::dirty_key(settings, &paths);
                tool.say(&warning.unwrap_or_else(|| ci3_tools::dirty_note(&paths)));
                (key, 0)
            }
            Resolved::Unmatched(message) => {
                tool.say(&message);
                (hash::SENTINEL.to_string(), 1)
            }
        };
        println!("{key}");
        Ok(code)
    })
}
