//! `cache_upload_flag NAME`: record in the store that NAME passed (CI only).

fn main() {
    let args = ci3::cli::args_or_usage("cache_upload_flag", 1, "NAME");
    ci3::cli::run("cache_upload_flag", || ci3::cache::upload_flag(&args[0]))
}
