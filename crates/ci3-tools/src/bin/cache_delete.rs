//! `cache_delete NAME`: delete artifact NAME from the store; exit 1 when it was not there.

fn main() {
    let args = ci3::cli::args_or_usage("cache_delete", 1, "NAME");
    ci3::cli::run("cache_delete", || {
        let name = &args[0];
        let selected = ci3::store::from_env()?;
        if selected.store.delete(name)? {
            eprintln!("Deleted {name} from {}.", selected.store.describe());
            Ok(0)
        } else {
            eprintln!("{name} is not in {}.", selected.store.describe());
            Ok(1)
        }
    })
}
