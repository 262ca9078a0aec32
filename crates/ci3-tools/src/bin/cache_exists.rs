//! `cache_exists NAME`: exit 0 when artifact NAME is in the store (exact name), else 1.

use ci3::env::flag;

fn main() {
    let args = ci3::cli::args_or_usage("cache_exists", 1, "NAME");
    ci3::cli::run("cache_exists", || {
        let name = &args[0];
        if name.contains(ci3::hash::SENTINEL) || flag("NO_CACHE") {
            return Ok(1);
        }
        let selected = ci3::store::from_env()?;
        match selected.store.exists(name) {
            Ok(found) => Ok(if found { 0 } else { 1 }),
            Err(err) => {
                eprintln!("cache_exists: cannot check {name}: {err}");
                Ok(1)
            }
        }
    })
}
