//! Rebuild patterns: where they come from (pattern files or literal arguments) and how paths
//! are matched against them.

use std::ffi::OsString;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::start;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::Look;

use crate::err;
use crate::error::{IoAt, Result};
use crate::fail;
use crate::git::{PathFilter, Under};

/// One pattern line and where it was read from, for error messages.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub origin: String,
}

/// Reads the patterns of `cache_content_hash`'s arguments, relative to the cwd: an existing
/// file contributes its lines; an argument starting with `^` is itself a pattern; an existing
/// directory contributes its path relative to the git top level (so `../other` covers that
/// project); anything else is an error, so a mistyped pattern-file path fails instead of
/// silently becoming a regex. Empty lines are dropped and there is no comment syntax.
pub fn load(args: &[OsString]) -> Result<Vec<Pattern>> {
    let mut out = Vec::new();
    let mut toplevel = None;
    for arg in args {
        let path = Path::new(arg);
        let text = || {
            arg.to_str()
                .ok_or_else(|| err!(Usage, "pattern argument {arg:?} is not valid UTF-8"))
        };
        if path.is_file() {
            let bytes = std::fs::read(path).at("cannot read pattern file", path)?;
            for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                let origin = format!("{}:{}", path.display(), n + 1);
                let text = String::from_utf8(line.to_vec())
                    .map_err(|_| err!(Usage, "pattern at {origin} is not valid UTF-8"))?;
                out.push(Pattern { text, origin });
            }
        } else if arg.as_encoded_bytes().starts_with(b"^") {
            out.push(Pattern {
                text: text()?.to_string(),
                origin: "argument".into(),
            });
        } else if path.is_dir() {
            let top = match &toplevel {
                Some(top) => top,
                None => toplevel.insert(crate::git::toplevel(Path::new("."))?),
            };
            let here = std::fs::canonicalize(path).at("cannot resolve directory", path)?;
            let rel = here.strip_prefix(top).map_err(|_| {
                err!(
                    Usage,
                    "directory {} is outside the git work tree",
                    path.display()
                )
            })?;
            let rel = rel
                .to_str()
                .ok_or_else(|| err!(Usage, "directory {arg:?} is not valid UTF-8"))?;
            out.push(Pattern {
                // The top level itself is `.`, as realpath --relative-to prints it.
                text: if rel.is_empty() {
                    ".".into()
                } else {
                    rel.into()
                },
                origin: format!("directory {}", path.display()),
            });
        } else {
            // The original's words first (scripts and people search for them), then what an
            // argument may be: a mistyped pattern file is rarely a missing directory.
            let here = std::env::current_dir()
                .map(|d| format!(" ({})", d.display()))
                .unwrap_or_default();
            fail!(
                Usage,
                "Error: Directory '{}' does not exist. Each argument must be a pattern file or a \
                 directory relative to the current directory{here}, or a regex starting with ^.",
                text()?
            );
        }
    }
    if out.is_empty() {
        fail!(Usage, "no rebuild patterns given (pattern files are empty)");
    }
    Ok(out)
}

/// The first argument that reads as an option (`-x`, `--name`) but names no file or directory:
/// a mistyped option of the tool, not a missing directory. An existing file or directory still
/// wins, as in the original (which took any existing file as a pattern file); `-` and `--` are
/// names, not options.
pub fn stray_option(args: &[OsString]) -> Option<&OsString> {
    args.iter().find(|arg| {
        let bytes = arg.as_encoded_bytes();
        bytes.starts_with(b"-") && bytes != b"-" && bytes != b"--" && !Path::new(arg).exists()
    })
}

/// Matches repo-relative paths against a set of POSIX ERE patterns, unanchored.
///
/// One lazy DFA does both jobs, matching paths and judging directories: compiling a second
/// engine would cost a short-lived tool more than all its matching. The full regex engine is
/// built only if the DFA gives up (its cache thrashing, or a Unicode word boundary on non-ASCII).
pub struct Matcher {
    dfa: DFA,
    cache: Mutex<Cache>,
    /// Whether every pattern starts with `^`, so a directory's path can rule out what is below.
    anchored: bool,
    combined: String,
    fallback: OnceLock<regex::bytes::Regex>,
}

impl Matcher {
    pub fn new(patterns: &[Pattern]) -> Result<Self> {
        let mut combined = String::new();
        for p in patterns {
            let translated = super::ere::translate(&p.text)
                .map_err(|e| err!(Usage, "invalid pattern '{}' ({}): {e}", p.text, p.origin))?;
            if !combined.is_empty() {
                combined.push('|');
            }
            combined.push_str(&translated);
        }
        Self::from_regex(combined).map_err(|err| {
            // Name the pattern at fault: compile them one by one only now.
            patterns
                .iter()
                .find_map(|p| {
                    let e =
                        regex::bytes::Regex::new(&super::ere::translate(&p.text).ok()?).err()?;
                    Some(err!(
                        Usage,
                        "invalid pattern '{}' ({}): {}",
                        p.text,
                        p.origin,
                        problem(&e)
                    ))
                })
                .unwrap_or(err)
        })
    }

    fn from_regex(combined: String) -> Result<Self> {
        let fail = |e: &dyn std::fmt::Display| {
            err!(Usage, "patterns do not compile together: {}", problem(e))
        };
        let hir = regex_syntax::parse(&combined).map_err(|e| fail(&e))?;
        let dfa = DFA::builder()
            .thompson(thompson::Config::new().nfa_size_limit(Some(SIZE_LIMIT)))
            .build(&combined)
            .map_err(|e| fail(&e))?;
        Ok(Matcher {
            cache: Mutex::new(dfa.create_cache()),
            dfa,
            anchored: hir.properties().look_set_prefix().contains(Look::Start),
            combined,
            fallback: OnceLock::new(),
        })
    }

    pub fn is_match(&self, path: &[u8]) -> bool {
        let input = Input::new(path).earliest(true);
        let found = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            self.dfa.try_search_fwd(&mut cache, &input)
        };
        match found {
            Ok(m) => m.is_some(),
            Err(_) => self.fallback().is_match(path),
        }
    }

    fn fallback(&self) -> &regex::bytes::Regex {
        self.fallback.get_or_init(|| {
            regex::bytes::RegexBuilder::new(&self.combined)
                .size_limit(SIZE_LIMIT)
                .build()
                .expect("the patterns compiled into a DFA")
        })
    }

    /// What the patterns say of every path starting with `dir_prefix` (a directory path ending
    /// in `/`), when that can be told from the prefix alone.
    pub fn under(&self, dir_prefix: &[u8]) -> Under {
        if !self.anchored {
            return Under::Some;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let config = start::Config::new().anchored(Anchored::Yes);
        let Ok(mut sid) = self.dfa.start_state(&mut cache, &config) else {
            return Under::Some;
        };
        for &b in dir_prefix {
            match self.dfa.next_state(&mut cache, sid, b) {
                // Matches are reported one byte late, and a leftmost-first DFA dies right after
                // one: a match within the prefix means every path below it matches.
                Ok(next) if next.is_match() => return Under::All,
                Ok(next) if next.is_dead() => return Under::None,
                Ok(next) if next.is_quit() => return Under::Some,
                Ok(next) => sid = next,
                Err(_) => return Under::Some,
            }
        }
        Under::Some
    }
}

impl PathFilter for Matcher {
    fn is_match(&self, path: &[u8]) -> bool {
        Matcher::is_match(self, path)
    }

    fn under(&self, dir_prefix: &[u8]) -> Under {
        Matcher::under(self, dir_prefix)
    }
}

/// How large the compiled patterns may grow.
const SIZE_LIMIT: usize = 64 << 20;

/// The line of a regex error that says what is wrong (the others draw the pattern).
fn problem(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(ps: &[&str]) -> Matcher {
        let ps: Vec<Pattern> = ps
            .iter()
            .map(|t| Pattern {
                text: t.to_string(),
                origin: "test".into(),
            })
            .collect();
        Matcher::new(&ps).unwrap()
    }

    #[test]
    fn anchored_patterns_prune_unrelated_directories() {
        let m = matcher(&["^a/b/", "^c/.*\\.rs$"]);
        assert!(m.may_match_under(b"a/"));
        assert!(m.may_match_under(b"a/b/"));
        assert!(m.may_match_under(b"a/b/x/"));
        assert!(!m.may_match_under(b"a/c/"));
        assert!(m.may_match_under(b"c/deep/"));
        assert!(!m.may_match_under(b"d/"));
        assert_eq!(
            m.under(b"a/b/"),
            Under::Some,
            "the match ends one byte later"
        );
        assert_eq!(m.under(b"a/b/x/"), Under::All);
        assert_eq!(m.under(b"c/deep/"), Under::Some);
        assert_eq!(m.under(b"d/"), Under::None);
        let m = matcher(&["^a"]);
        assert!(m.may_match_under(b"a/"));
        assert!(m.may_match_under(b"ab/c/"));
        assert!(!m.may_match_under(b"b/"));
    }

    #[test]
    fn one_unanchored_pattern_disables_pruning() {
        let m = matcher(&["^a/", "Cargo\\.lock"]);
        assert!(m.may_match_under(b"zzz/"));
        assert_eq!(m.under(b"a/b/"), Under::Some, "unknown without a pruner");
        let m = matcher(&["^a/|b"]);
        assert!(m.may_match_under(b"zzz/"));
    }

    #[test]
    fn bad_pattern_names_its_origin() {
        let ps = vec![Pattern {
            text: "a(".into(),
            origin: ".rebuild_patterns:3".into(),
        }];
        let err = Matcher::new(&ps).err().unwrap().to_string();
        assert!(
            err.contains("'a('") && err.contains(".rebuild_patterns:3"),
            "{err}"
        );
    }
}
