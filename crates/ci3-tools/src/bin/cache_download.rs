//! `cache_download NAME [OUT_DIR]`: extract artifact NAME into OUT_DIR (default `.`); exit 1 on a miss.

use std::path::Path;

fn main() {
    let args = ci3::cli::args_or_usage("cache_download", 1, "NAME [OUT_DIR]");
    ci3::cli::run("cache_download", || {
        let out_dir = args
            .get(1)
            .map_or(Path::new("."), |d| Path::new(d.as_str()));
        ci3::cache::download(&args[0], out_dir)
    })
}
