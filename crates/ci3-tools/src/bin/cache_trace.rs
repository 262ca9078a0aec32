//! `cache_trace CMD [PATTERNS...]`: the repository files a build reads that its rebuild
//! patterns do not match, and the patterns that match nothing it read.

use std::ffi::OsString;

use ci3_tools::trace::{self, Format};
use ci3_tools::Tool;
use clap::Parser;

/// Runs CMD (`bash -c`) from the current directory with its whole process tree traced
/// (ptrace with a seccomp filter: static binaries too) and compares the files of the
/// repository it read or executed with the rebuild patterns, as `cache_content_hash` takes
/// them (pattern files, ^regexes or directories; default .rebuild_patterns). The command's
/// own output goes to stderr; stdout carries the findings.
#[derive(Parser)]
#[command(name = "cache_trace", version, after_help = HELP)]
struct Args {
    /// List every file read outside the repository instead of a summary.
    #[arg(long)]
    all: bool,
    /// Trace stat, access and readlink too, and report the repository paths only probed
    /// (`[ -f FILE ]`): those no pattern matches as "undeclared probe", all of them in
    /// --format json ("probed"). Slower: git lstats every tracked file.
    #[arg(long)]
    probes: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// The build command, run with bash -c.
    command: String,
    /// Pattern files, ^regexes or directories.
    #[arg(allow_hyphen_values = true)]
    patterns: Vec<OsString>,
}

const HELP: &str = "\
Environment:
  CMD runs with this environment, unchanged.
  CI3_TRACE_READS  how opens are seen: auto (the default: fanotify where permitted, as root,
                   else seccomp notification, else ptrace), fanotify, notify or ptrace
                   (--probes: not fanotify, which sees no failed open)

Exit status:
  0  every repository file read is matched by a pattern (and the command succeeded)
  1  a repository file was read that no pattern matches, or the command failed
  128+N  stopped by signal N (SIGINT, SIGTERM, SIGHUP: forwarded to the command's processes)
  2  a usage error, or tracing is not possible here (ptrace not permitted, not x86_64 Linux)";

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_trace");
    ci3_tools::run(tool.name, || {
        let opts = ci3::trace::Options {
            all: args.all,
            probes: args.probes,
        };
        let findings = ci3::trace::cache_trace(&args.command, &args.patterns, opts)?;
        match args.format {
            Format::Text => print!("{}", trace::text("", &findings)),
            Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        }
        tool.say(&trace::summary(&findings));
        let failed = trace::failure(&findings);
        if let Some(why) = &failed {
            tool.say(why);
        }
        // Signalled: the command's group got the signal too; we end as every tool does then.
        if let Some(sig) = ci3::process::interrupted() {
            return Ok(128 + sig);
        }
        Ok(i32::from(findings.dirty() || failed.is_some()))
    })
}
