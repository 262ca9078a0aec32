//! `cache_gc [--dry-run] [--max-size S] [--max-age D]`: keep the directory store and the local
//! cache under their caps now, and say what was removed.

use ci3::store::evict::{self, Caps};
use ci3::Error;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Removes from the directory store and CACHE_LOCAL_DIR what is older than the age cap, then the
/// least recently used artifacts until each fits under the size cap. Prints each removed file on
/// stdout; a summary per directory on stderr. The same runs by itself after every write.
#[derive(Parser)]
#[command(name = "cache_gc", version, after_help = help())]
struct Args {
    /// List what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// The size cap (e.g. 20G, 500M), instead of CI3_CACHE_MAX_SIZE.
    #[arg(long, value_name = "SIZE", value_parser = size)]
    max_size: Option<u64>,
    /// The age cap (e.g. 30d, 12h), instead of CI3_CACHE_MAX_AGE.
    #[arg(long, value_name = "AGE", value_parser = age)]
    max_age: Option<std::time::Duration>,
}

fn size(text: &str) -> Result<u64, Error> {
    evict::parse_size(text)
        .ok_or_else(|| Error::usage(format!("not a size: {text} (like 20G, 500M)")))
}

fn age(text: &str) -> Result<std::time::Duration, Error> {
    evict::parse_age(text)
        .ok_or_else(|| Error::usage(format!("not an age: {text} (like 30d, 12h, 90m)")))
}

fn help() -> String {
    format!(
        "Environment:\n  CI3_CACHE_MAX_SIZE           size cap (default: 10% of the filesystem, at most 50 GiB)\n  \
         CI3_CACHE_MAX_AGE            remove what was not used for this long (default: no age cap)\n  \
         CACHE_LOCAL_DIR              the local tarball cache, kept under the same caps\n{STORE_ENV}\n\n\
         Exit status:\n  0  done (also when there was nothing to remove)\n  1  a directory could not be read\n  \
         2  usage error, a configuration that cannot be right, or a store that cannot be listed\n     (a ci3 server that speaks only the upstream API)"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_gc");
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let caps = Caps {
            max_size: args.max_size.or(selected.caps.max_size),
            max_age: args.max_age.or(selected.caps.max_age),
            ledgers: None,
        };
        let dirs = ci3::cache::gc::dirs(&tool.settings, &selected)?;
        if dirs.is_empty() {
            tool.say(&format!(
                "Nothing to collect: {} is not on this machine and CACHE_LOCAL_DIR is not set.",
                selected.store.describe()
            ));
        }
        let mut out = String::new();
        for dir in dirs {
            let report = evict::collect(&dir, caps.for_dir(&dir), args.dry_run)
                .map_err(|e| ci3::Error::io(&dir, format!("cannot read {}: {e}", dir.display())))?;
            let freed: u64 = report.evicted.iter().map(|e| e.size).sum();
            for e in &report.evicted {
                out.push_str(&e.path.display().to_string());
                out.push('\n');
            }
            tool.say(&format!(
                "{} {} files ({}) from {}; {} kept.",
                if args.dry_run {
                    "Would remove"
                } else {
                    "Removed"
                },
                report.evicted.len(),
                human(freed),
                dir.display(),
                human(report.kept_size)
            ));
        }
        print!("{out}");
        Ok(0)
    })
}

fn human(bytes: u64) -> String {
    const MIB: f64 = (1 << 20) as f64;
    format!("{:.1} MiB", bytes as f64 / MIB)
}
