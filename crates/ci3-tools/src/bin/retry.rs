//! `retry CMD...`: run `bash -c CMD` up to 3 times, `RETRY_SLEEP` seconds apart (default 5);
//! once, with its status, when `RETRY_DISABLED` is set.
//!
//! Every argument is data, as in the original: `retry --help` runs a command called `--help`.
//! Several arguments are joined with spaces into one command (older scripts pass them unquoted).

fn main() {
    let tool = ci3_tools::Tool::new("retry");
    let command = ci3_tools::command_words("retry");
    ci3_tools::run(tool.name, || {
        ci3::helpers::retry::run(&tool.settings, &command)
    })
}
