//! `cache_trace`: a build command traced from the current directory, its repository reads
//! compared with the rebuild patterns `cache_content_hash` would be given.

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::report::{self, Findings};
use super::Options;
use crate::hash::patterns::{self, Matcher};
use crate::Result;

/// Runs `bash -c command` traced in the cwd (its stdout sent to our stderr: ours carries the
/// findings) and compares the repository files it read with `pattern_args` (pattern files,
/// `^regexes` or directories; `.rebuild_patterns` when empty). `opts.all` lists the reads
/// outside; `opts.probes` traces probes too and reports those no pattern matches.
pub fn cache_trace(command: &str, pattern_args: &[OsString], opts: Options) -> Result<Findings> {
    let args = if pattern_args.is_empty() {
        vec![OsString::from(".rebuild_patterns")]
    } else {
        pattern_args.to_vec()
    };
    let patterns = patterns::load(&args)?;
    let matchers = patterns
        .iter()
        .map(|p| Matcher::new(std::slice::from_ref(p)))
        .collect::<Result<Vec<_>>>()?;
    let cwd = std::env::current_dir().map_err(crate::Error::from)?;
    let root = crate::git::toplevel(Path::new("."))?;
    let stdout: OwnedFd = std::io::stderr().as_fd().try_clone_to_owned()?;
    let trace = super::run(super::Command {
        argv: vec!["bash".into(), "-c".into(), command.into()],
        cwd,
        env: None,
        stdout: Some(stdout),
        stderr: None,
        probes: opts.probes,
    })?;
    let seen = report::seen(&trace, &root, opts.all);
    let unread = patterns
        .iter()
        .zip(&matchers)
        .filter(|(_, m)| !seen.read.iter().any(|p| m.is_match(p.as_bytes())))
        .map(|(p, _)| format!("{} ({})", p.text, p.origin))
        .collect();
    let covered = |p: &str| matchers.iter().any(|m| m.is_match(p.as_bytes()));
    Ok(report::compare(
        seen,
        covered,
        report::suggest_ere,
        unread,
        |_| true,
        covered,
    ))
}
