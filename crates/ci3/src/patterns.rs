//! Rebuild patterns: where they come from (pattern files or literal arguments) and how paths
//! are matched against them.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::start;
use regex_automata::Anchored;
use regex_syntax::hir::Look;

/// One pattern line and where it was read from, for error messages.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub origin: String,
}

/// Reads the patterns of `cache_content_hash`'s arguments: an argument naming an existing file
/// (relative to the cwd) contributes its lines, any other argument is itself a pattern; empty
/// lines are dropped and there is no comment syntax.
pub fn load(args: &[OsString]) -> Result<Vec<Pattern>> {
    let mut out = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_file() {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read pattern file {}", path.display()))?;
            for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                let origin = format!("{}:{}", path.display(), n + 1);
                let text = String::from_utf8(line.to_vec())
                    .map_err(|_| anyhow::anyhow!("pattern at {origin} is not valid UTF-8"))?;
                out.push(Pattern { text, origin });
            }
        } else {
            let text = arg
                .to_str()
                .with_context(|| format!("pattern argument {arg:?} is not valid UTF-8"))?;
            if !text.is_empty() {
                out.push(Pattern {
                    text: text.to_string(),
                    origin: "argument".into(),
                });
            }
        }
    }
    if out.is_empty() {
        bail!("no rebuild patterns given (pattern files are empty)");
    }
    Ok(out)
}

/// Matches repo-relative paths against a set of POSIX ERE patterns, unanchored.
pub struct Matcher {
    regex: regex::bytes::Regex,
    /// Present when every pattern is anchored at the start, so whole directories can be skipped.
    pruner: Option<Pruner>,
}

struct Pruner {
    dfa: DFA,
    cache: Mutex<Cache>,
}

impl Matcher {
    pub fn new(patterns: &[Pattern]) -> Result<Self> {
        let mut combined = String::new();
        for p in patterns {
            let translated = crate::ere::translate(&p.text)
                .map_err(|e| anyhow::anyhow!("invalid pattern '{}' ({}): {e}", p.text, p.origin))?;
            if !combined.is_empty() {
                combined.push('|');
            }
            combined.push_str(&translated);
        }
        Self::from_regex(&combined).map_err(|err| {
            // Name the pattern at fault: compile them one by one only now.
            patterns
                .iter()
                .find_map(|p| {
                    let e =
                        regex::bytes::Regex::new(&crate::ere::translate(&p.text).ok()?).err()?;
                    Some(anyhow::anyhow!(
                        "invalid pattern '{}' ({}): {}",
                        p.text,
                        p.origin,
                        first_line(&e)
                    ))
                })
                .unwrap_or(err)
        })
    }

    fn from_regex(combined: &str) -> Result<Self> {
        let regex = regex::bytes::RegexBuilder::new(combined)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| anyhow::anyhow!("patterns do not compile together: {}", first_line(&e)))?;
        Ok(Matcher {
            regex,
            pruner: Pruner::new(combined),
        })
    }

    pub fn is_match(&self, path: &[u8]) -> bool {
        self.regex.is_match(path)
    }

    /// False only when no path starting with `dir_prefix` (a directory path ending in `/`) can match.
    pub fn may_match_under(&self, dir_prefix: &[u8]) -> bool {
        self.pruner
            .as_ref()
            .is_none_or(|p| p.may_match_under(dir_prefix))
    }
}

impl Pruner {
    fn new(combined: &str) -> Option<Self> {
        let hir = regex_syntax::parse(combined).ok()?;
        // Only patterns that all start with `^` can rule out a directory by its name.
        if !hir.properties().look_set_prefix().contains(Look::Start) {
            return None;
        }
        let dfa = DFA::new(combined).ok()?;
        let cache = Mutex::new(dfa.create_cache());
        Some(Pruner { dfa, cache })
    }

    fn may_match_under(&self, prefix: &[u8]) -> bool {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let config = start::Config::new().anchored(Anchored::Yes);
        let Ok(mut sid) = self.dfa.start_state(&mut cache, &config) else {
            return true;
        };
        for &b in prefix {
            match self.dfa.next_state(&mut cache, sid, b) {
                // Matches are reported one byte late, and a leftmost-first DFA dies right after
                // one: a match within the prefix means every path below it matches.
                Ok(next) if next.is_match() => return true,
                Ok(next) if next.is_dead() => return false,
                Ok(next) if next.is_quit() => return true,
                Ok(next) => sid = next,
                Err(_) => return true,
            }
        }
        true
    }
}

fn first_line(e: &regex::Error) -> String {
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
        let m = matcher(&["^a"]);
        assert!(m.may_match_under(b"a/"));
        assert!(m.may_match_under(b"ab/c/"));
        assert!(!m.may_match_under(b"b/"));
    }

    #[test]
    fn one_unanchored_pattern_disables_pruning() {
        let m = matcher(&["^a/", "Cargo\\.lock"]);
        assert!(m.may_match_under(b"zzz/"));
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
