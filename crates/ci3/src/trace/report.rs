//! A trace compared with what was declared: the repository files read that nothing covers
//! (each with a pattern that would), the declarations nothing read, the files written where no
//! output was declared, and the reads outside the repository summarised.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::{Exit, Trace};

/// Reads outside the repository (the toolchain: compilers, system headers, libraries).
#[derive(Debug, Default, Serialize)]
pub struct Outside {
    /// Files read or executed.
    pub count: usize,
    /// The directories (two levels deep) most of them are in, most first, with their counts.
    pub top: Vec<(String, usize)>,
    /// Every one of them, only when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// One repository file read that no declaration covers.
#[derive(Debug, Serialize)]
pub struct Undeclared {
    pub path: String,
    /// A declaration that would cover it (and its siblings of the same kind).
    pub suggest: String,
}

/// What a comparison found.
#[derive(Debug, Serialize)]
pub struct Findings {
    /// The command's end: `exit` code, or `signal` when it was killed.
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    pub processes: usize,
    /// How the read-only opens were seen: `fanotify`, `notify` or `ptrace`.
    pub reads: &'static str,
    pub undeclared: Vec<Undeclared>,
    /// Declared inputs (files, or patterns) nothing read.
    pub unread: Vec<String>,
    /// Repository files written outside the declared outputs.
    pub written: Vec<String>,
    /// With probes traced: the repository paths only probed (neither read, run nor written),
    /// existing files and missing paths alike (a directory is no input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probed: Option<Vec<String>>,
    /// With probes traced: those of `probed` no declaration covers, a hidden dependency on
    /// their existence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undeclared_probes: Option<Vec<Undeclared>>,
    pub outside: Outside,
}

impl Findings {
    /// Whether something undeclared was read (exit 1).
    pub fn dirty(&self) -> bool {
        !self.undeclared.is_empty()
    }
}

/// The repository side of a trace, relative to `root` (canonical): files read or executed
/// that exist as regular files and that the traced tree did not write itself (generated files
/// are not inputs), files written, paths only probed (when probes were traced), and what was
/// read outside. `.git/` is git's own business.
pub struct Seen {
    pub read: BTreeSet<String>,
    pub written: BTreeSet<String>,
    pub probed: Option<BTreeSet<String>>,
    pub outside: Outside,
    pub exit: Exit,
    pub processes: usize,
    pub reads: &'static str,
}

/// What `trace` did inside and outside `root`; `all` lists the outside reads too.
pub fn seen(trace: &Trace, root: &Path, all: bool) -> Seen {
    let mut read = BTreeSet::new();
    let mut written = BTreeSet::new();
    let mut probed = BTreeSet::new();
    let mut outside = Vec::new();
    for (path, access) in &trace.paths {
        let Ok(rel) = path.strip_prefix(root) else {
            if (access.read || access.exec) && !pseudo(path) && path.is_file() {
                outside.push(path.display().to_string());
            }
            continue;
        };
        let rel = rel.to_string_lossy().into_owned();
        if rel.is_empty() || rel == ".git" || rel.starts_with(".git/") {
            continue;
        }
        if access.write {
            if !path.is_dir() {
                written.insert(rel);
            }
        } else if access.read || access.exec {
            if path.is_file() {
                read.insert(rel);
            }
        } else if access.probe && trace.probes && !path.is_dir() {
            probed.insert(rel);
        }
    }
    Seen {
        read,
        written,
        probed: trace.probes.then_some(probed),
        outside: summarise(outside, all),
        exit: trace.exit,
        processes: trace.processes,
        reads: trace.reads,
    }
}

fn pseudo(path: &Path) -> bool {
    ["/proc", "/sys", "/dev"]
        .iter()
        .any(|p| path.starts_with(p))
}

fn summarise(files: Vec<String>, all: bool) -> Outside {
    let mut dirs: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let top: Vec<&str> = f.split('/').skip(1).take(2).collect();
        // A file right under / or under one directory counts for its directory.
        let parts = top.len().min(f.split('/').count().saturating_sub(2)).max(1);
        *dirs
            .entry(format!("/{}", top[..parts].join("/")))
            .or_default() += 1;
    }
    let mut top: Vec<(String, usize)> = dirs.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(5);
    Outside {
        count: files.len(),
        top,
        files: if all { files } else { Vec::new() },
    }
}

/// The findings of `seen` against declarations: `covered` says whether a read file is
/// declared, `suggest` gives the declaration that would cover one that is not, `unread` the
/// declarations nothing read, `output` whether a written file is a declared output, and
/// `probe_covered` whether a path only probed (it may not exist) is declared.
pub fn compare(
    seen: Seen,
    covered: impl Fn(&str) -> bool,
    suggest: impl Fn(&str) -> String,
    unread: Vec<String>,
    output: impl Fn(&str) -> bool,
    probe_covered: impl Fn(&str) -> bool,
) -> Findings {
    let uncovered = |paths: &BTreeSet<String>, covered: &dyn Fn(&str) -> bool| {
        paths
            .iter()
            .filter(|p| !covered(p))
            .map(|p| Undeclared {
                path: p.clone(),
                suggest: suggest(p),
            })
            .collect::<Vec<_>>()
    };
    let undeclared = uncovered(&seen.read, &covered);
    let undeclared_probes = seen
        .probed
        .as_ref()
        .map(|probed| uncovered(probed, &probe_covered));
    Findings {
        exit: match seen.exit {
            Exit::Code(c) => Some(c),
            Exit::Signal(_) => None,
        },
        signal: match seen.exit {
            Exit::Signal(s) => Some(s),
            Exit::Code(_) => None,
        },
        processes: seen.processes,
        reads: seen.reads,
        undeclared,
        unread,
        written: seen.written.into_iter().filter(|p| !output(p)).collect(),
        probed: seen.probed.map(|p| p.into_iter().collect()),
        undeclared_probes,
        outside: seen.outside,
    }
}

/// A rebuild pattern (ERE, anchored) covering `rel` and its directory's files of its extension.
pub fn suggest_ere(rel: &str) -> String {
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let dir = regex_syntax::escape(dir);
    let prefix = if dir.is_empty() {
        "^".to_string()
    } else {
        format!("^{dir}/")
    };
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            format!("{prefix}.*\\.{}$", regex_syntax::escape(ext))
        }
        _ => format!("{prefix}{}$", regex_syntax::escape(name)),
    }
}

/// A glob relative to the app directory `app` covering `rel` (repository-relative) and its
/// directory's files of its extension.
pub fn suggest_glob(rel: &str, app: &str) -> String {
    let local = relative(rel, app);
    let (dir, name) = local.rsplit_once('/').unwrap_or(("", &local));
    let file = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("*.{ext}"),
        _ => name.to_string(),
    };
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

/// `rel` as seen from directory `from` (both repository-relative), with `../` as needed.
pub fn relative(rel: &str, from: &str) -> String {
    let from: Vec<&str> = from
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let to: Vec<&str> = rel.split('/').collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest_ere("include/config.h"), r"^include/.*\.h$");
        assert_eq!(suggest_ere("Makefile"), "^Makefile$");
        assert_eq!(suggest_glob("app/src/a.c", "app"), "src/*.c");
        assert_eq!(suggest_glob("shared/x.h", "app"), "../shared/*.h");
        assert_eq!(relative("a/b", "a"), "b");
    }
}
