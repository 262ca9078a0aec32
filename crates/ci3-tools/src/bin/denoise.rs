//! `denoise CMD...`: run `bash -c CMD`; with DENOISE=1, dots instead of its output unless it fails.
//!
//! Every argument is data, as in the original: `denoise --help` runs a command called `--help`.
//! Several arguments are joined with spaces into one command (older scripts pass them unquoted).

fn main() {
    let tool = ci3_tools::Tool::new("denoise");
    let command = ci3_tools::command_words("denoise");
    ci3_tools::run(tool.name, || {
        ci3::helpers::denoise::run(&tool.settings, &command)
    })
}
