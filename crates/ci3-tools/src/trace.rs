//! Rendering a trace's findings for `cache_trace` and `task_trace`: text lines or JSON.

use ci3::trace::Findings;

/// How findings are printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The lines of `f` (stdout), each prefixed with `prefix` (a task id and a space, or nothing).
pub fn text(prefix: &str, f: &Findings) -> String {
    let mut out = String::new();
    for u in &f.undeclared {
        out += &format!(
            "{prefix}undeclared read: {} (covered by: {})\n",
            u.path, u.suggest
        );
    }
    for u in &f.unread {
        out += &format!("{prefix}never read: {u}\n");
    }
    for w in &f.written {
        out += &format!("{prefix}written outside the outputs: {w}\n");
    }
    if f.outside.count > 0 {
        let top: Vec<String> = f
            .outside
            .top
            .iter()
            .map(|(d, n)| format!("{d} {n}"))
            .collect();
        out += &format!(
            "{prefix}outside the repository: {} files read ({})\n",
            f.outside.count,
            top.join(", ")
        );
        for file in &f.outside.files {
            out += &format!("{prefix}outside read: {file}\n");
        }
    }
    out
}

/// How the traced command ended, for stderr: `None` when it succeeded.
pub fn failure(f: &Findings) -> Option<String> {
    match (f.exit, f.signal) {
        (Some(0), _) => None,
        (Some(code), _) => Some(format!("the command exited with code {code}")),
        (None, Some(sig)) => Some(format!(
            "the command was killed by signal {sig} ({})",
            ci3::trace::signal_name(sig)
        )),
        (None, None) => Some("the command's end is unknown".into()),
    }
}

/// The summary line for stderr.
pub fn summary(f: &Findings) -> String {
    format!(
        "{} processes traced; {} undeclared reads, {} never read, {} written outside the outputs",
        f.processes,
        f.undeclared.len(),
        f.unread.len(),
        f.written.len()
    )
}
