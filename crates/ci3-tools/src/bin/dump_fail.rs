//! `dump_fail CMD...`: run `bash -c CMD` quietly; its output goes to stderr only if it fails.
//!
//! Every argument is data, as in the original: `dump_fail --help` runs a command called `--help`.
//! Several arguments are joined with spaces into one command (older scripts pass them unquoted).

fn main() {
    let command = ci3_tools::command_words("dump_fail");
    ci3_tools::run("dump_fail", || ci3::helpers::dump_fail::run(&command))
}
