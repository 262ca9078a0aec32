//! `cache_download_flag NAME...`: exit 0 when every flag NAME is recorded, else 1.

fn main() {
    let args = ci3::cli::args_or_usage("cache_download_flag", 1, "NAME...");
    ci3::cli::run("cache_download_flag", || ci3::cache::download_flags(&args))
}
