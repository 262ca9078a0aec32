//! `rebuild_needed NAME`: exit 0 when artifact NAME must be rebuilt, 1 when the cache has it.

use clap::Parser;

/// Tells whether artifact NAME must be rebuilt: exit 0 = rebuild, 1 = cached. Says why on stderr.
#[derive(Parser)]
#[command(name = "rebuild_needed", version)]
struct Args {
    /// The artifact name (the cache key), e.g. from cache_content_hash.
    name: String,
    /// When a rebuild is needed, list the inputs that changed since the newest stored
    /// artifact of the same project (same name before the key): `M`, `T`, `+`, `-` lines.
    #[arg(long)]
    explain: bool,
}

const REBUILD: i32 = 0;
const CACHED: i32 = 1;

fn main() {
    let args = Args::parse();
    ci3::cli::run("rebuild_needed", || {
        let name = &args.name;
        if name.contains(ci3::hash::SENTINEL) {
            eprintln!("Rebuild needed for {name}: uncommitted changes disable the cache.");
            return Ok(REBUILD);
        }
        if ci3::env::flag("NO_CACHE") {
            eprintln!("Rebuild needed for {name}: NO_CACHE=1.");
            return Ok(REBUILD);
        }
        if let Some(dir) = ci3::env::non_empty("CACHE_LOCAL_DIR") {
            if std::path::Path::new(&dir).join(name).is_file() {
                eprintln!("No rebuild needed for {name}: found in local cache {dir}.");
                return Ok(CACHED);
            }
        }
        let store = match ci3::store::from_env() {
            Ok(selected) => selected.store,
            Err(err) => {
                // Never report "cached" when the cache could not even be asked.
                eprintln!("Rebuild needed for {name}: {}", ci3::cli::one_line(&err));
                return Ok(REBUILD);
            }
        };
        match store.exists(name) {
            Ok(true) => {
                eprintln!(
                    "No rebuild needed for {name}: found in {}.",
                    store.describe()
                );
                Ok(CACHED)
            }
            Ok(false) => {
                eprintln!("Rebuild needed for {name}: not in {}.", store.describe());
                if args.explain {
                    explain(name, store.as_ref());
                }
                Ok(REBUILD)
            }
            Err(err) => {
                eprintln!(
                    "Rebuild needed for {name}: cannot check {}: {err}",
                    store.describe()
                );
                Ok(REBUILD)
            }
        }
    })
}

/// Says on stderr what changed since the nearest stored manifest; never changes the verdict.
fn explain(name: &str, store: &dyn ci3::store::Store) {
    let nearest = match ci3::hash::manifest::nearest(name, store) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return eprintln!(
                "No earlier build of this project with an input manifest to compare with."
            )
        }
        Err(err) => {
            return eprintln!(
                "Cannot look for an earlier build: {}",
                ci3::cli::one_line(&err)
            )
        }
    };
    let (artifact, manifest) = nearest;
    match ci3::hash::manifest::current(&manifest.patterns) {
        Ok(now) => {
            let changes = ci3::hash::manifest::diff(&manifest.entries, &now);
            eprintln!("Changed inputs since {artifact}: {}", changes.len());
            eprint!("{}", ci3::hash::manifest::render(&changes));
        }
        Err(err) => eprintln!(
            "Cannot compare with {artifact}: {}",
            ci3::cli::one_line(&err)
        ),
    }
}
