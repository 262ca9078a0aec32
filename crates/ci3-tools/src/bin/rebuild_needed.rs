//! `rebuild_needed NAME`: exit 0 when artifact NAME must be rebuilt, 1 when the cache has it.

use ci3::cache::policy::{self, ReadSkip};
use ci3::hash::manifest;
use ci3::store::{Layered, LocalCache, Source};
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Tells whether artifact NAME must be rebuilt: exit 0 = rebuild, 1 = cached. Says why on stderr.
/// A store that cannot be asked means "rebuild", never "cached".
#[derive(Parser)]
#[command(name = "rebuild_needed", version, after_help = help())]
struct Args {
    /// The artifact name (the cache key), e.g. from cache_content_hash.
    name: String,
    /// When a rebuild is needed, list the inputs that changed since the newest stored
    /// artifact of the same project (same name before the key): `M`, `T`, `+`, `-` lines.
    #[arg(long)]
    explain: bool,
}

fn help() -> String {
    format!(
        "Environment:\n  NO_CACHE=1                   always rebuild\n  CACHE_LOCAL_DIR              local tarball cache\n{STORE_ENV}\n\n\
         Exit status:\n  0  rebuild needed, or the cache cannot be asked (a store configuration that cannot be right,\n     \
         a bad name: said on stderr)\n  1  cached (in the local cache or the store)\n  2  usage error"
    )
}

const REBUILD: i32 = 0;
const CACHED: i32 = 1;

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("rebuild_needed");
    let selected = tool.store_or_exit(Some(REBUILD));
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        match policy::read_skip(&tool.settings, name) {
            Some(ReadSkip::Sentinel) => {
                tool.say(&format!(
                    "Rebuild needed for {name}: uncommitted changes disable the cache."
                ));
                return Ok(REBUILD);
            }
            Some(ReadSkip::NoCache) => {
                tool.say(&format!("Rebuild needed for {name}: NO_CACHE=1."));
                return Ok(REBUILD);
            }
            None => {}
        }
        let store = selected.store.as_ref();
        let local = tool
            .settings
            .local_cache
            .as_deref()
            .map(LocalCache::existing);
        let layered = Layered::new(local, Some(store), tool.reporter.as_ref());
        match layered.exists(name) {
            Ok(Some(Source::Local)) => {
                let dir = layered.local().map(|l| l.dir().display().to_string());
                tool.say(&format!(
                    "No rebuild needed for {name}: found in local cache {}.",
                    dir.unwrap_or_default()
                ));
                Ok(CACHED)
            }
            Ok(Some(Source::Store)) => {
                tool.say(&format!(
                    "No rebuild needed for {name}: found in {}.",
                    store.describe()
                ));
                Ok(CACHED)
            }
            Ok(None) => {
                tool.say(&format!(
                    "Rebuild needed for {name}: not in {}.",
                    store.describe()
                ));
                if args.explain {
                    explain(&tool, name, &selected);
                }
                Ok(REBUILD)
            }
            Err(err) => {
                tool.say(&format!(
                    "Rebuild needed for {name}: cannot check {}: {err}",
                    store.describe()
                ));
                Ok(REBUILD)
            }
        }
    })
}

/// Says on stderr what changed since the nearest stored manifest; never changes the verdict.
fn explain(tool: &Tool, name: &str, selected: &ci3::store::Selected) {
    let (artifact, manifest) =
        match manifest::nearest(name, selected.store.as_ref(), &selected.trust) {
            Ok(Some(found)) => found,
            Ok(None) => {
                return tool.say(
                    "No earlier build of this project with an input manifest to compare with.",
                )
            }
            Err(err) => {
                return tool.say(&format!(
                    "Cannot look for an earlier build: {}",
                    ci3::error::one_line(&err)
                ))
            }
        };
    match manifest::current(&tool.settings, &manifest.patterns) {
        Ok(now) => {
            let changes = manifest::diff(&manifest.entries, &now);
            tool.say(&format!(
                "Changed inputs since {artifact}: {}",
                changes.len()
            ));
            for line in manifest::render(&changes).lines() {
                tool.say(line);
            }
        }
        Err(err) => tool.say(&format!(
            "Cannot compare with {artifact}: {}",
            ci3::error::one_line(&err)
        )),
    }
}
