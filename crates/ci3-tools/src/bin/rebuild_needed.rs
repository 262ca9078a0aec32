//! `rebuild_needed NAME`: exit 0 when artifact NAME must be rebuilt, 1 when the cache has it.

use ci3::hash::manifest;
use ci3::helpers::rebuild_needed::{self, Explanation, Verdict};
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
        let verdict =
            rebuild_needed::decide(&tool.settings, &selected, tool.reporter.as_ref(), name);
        let store = selected.store.describe();
        tool.say(&match &verdict {
            Verdict::Sentinel => {
                format!("Rebuild needed for {name}: uncommitted changes disable the cache.")
            }
            Verdict::NoCache => format!("Rebuild needed for {name}: NO_CACHE=1."),
            Verdict::Local(dir) => format!(
                "No rebuild needed for {name}: found in local cache {}.",
                dir.display()
            ),
            Verdict::Stored => format!("No rebuild needed for {name}: found in {store}."),
            Verdict::Missing => format!("Rebuild needed for {name}: not in {store}."),
            Verdict::Unknown(err) => {
                format!("Rebuild needed for {name}: cannot check {store}: {err}")
            }
        });
        if matches!(verdict, Verdict::Missing) && args.explain {
            explain(&tool, name, &selected);
        }
        Ok(if verdict.rebuild() { REBUILD } else { CACHED })
    })
}

/// Says on stderr what changed since the nearest stored manifest; never changes the verdict.
fn explain(tool: &Tool, name: &str, selected: &ci3::store::Selected) {
    match rebuild_needed::explain(&tool.settings, selected, name) {
        Explanation::NoEarlier => {
            tool.say("No earlier build of this project with an input manifest to compare with.")
        }
        Explanation::Unsearchable(err) => {
            tool.say(&format!("Cannot look for an earlier build: {err}"))
        }
        Explanation::Uncomparable { artifact, err } => {
            tool.say(&format!("Cannot compare with {artifact}: {err}"))
        }
        Explanation::Changes { artifact, changes } => {
            let count = changes.len();
            tool.say(&format!("Changed inputs since {artifact}: {count}"));
            for line in manifest::render(&changes).lines() {
                tool.say(line);
            }
        }
    }
}
