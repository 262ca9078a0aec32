//! `cache_upload NAME PATH...`: archive PATHs as artifact NAME into the local cache and the store.

use std::path::PathBuf;

fn main() {
    let args = ci3::cli::args_or_usage("cache_upload", 2, "NAME PATH...");
    ci3::cli::run("cache_upload", || {
        let paths: Vec<PathBuf> = args[1..].iter().map(PathBuf::from).collect();
        ci3::cache::upload(&args[0], &paths, &std::env::current_dir()?)
    })
}
