//! `test_should_run NAME`: exit 0 when test NAME must run (TEST=1 or CI=1, and no flag yet).

fn main() {
    let args = ci3::cli::args_or_usage("test_should_run", 1, "NAME");
    ci3::cli::run("test_should_run", || ci3::cache::test_should_run(&args[0]))
}
