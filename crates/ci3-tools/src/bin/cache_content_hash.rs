//! `cache_content_hash PATTERN_FILE_OR_REGEX...`: the original ci3 content hash of the committed
//! files matching the patterns, or `disabled-cache` when some of them have uncommitted changes.

use ci3::hash::{self as content, Resolved, Source};

fn main() {
    ci3::cli::run("cache_content_hash", || {
        let args: Vec<_> = std::env::args_os().skip(1).collect();
        if args.is_empty() {
            anyhow::bail!("Error: No arguments provided.");
        }
        let key = match content::resolve(&args, Source::Committed)? {
            Resolved::Entries(entries, patterns) => {
                let platform = ci3::platform::tag();
                let key = ci3::hash::ci3(&entries, &platform);
                ci3::hash::manifest::remember(&key, || {
                    ci3::hash::manifest::Manifest::new(&key, &platform, &patterns, &entries)
                });
                key
            }
            Resolved::Dirty(paths) => content::dirty_key(&paths)?,
        };
        println!("{key}");
        Ok(0)
    })
}
