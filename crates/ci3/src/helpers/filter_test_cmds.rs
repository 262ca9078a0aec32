//! `filter_test_cmds`: pass on the test lines that still need to run, in their order.
//!
//! A line goes when a `skip: true` entry of `$root/.test_patterns.yml` matches it (its `regex`
//! a POSIX ERE, as the original's `grep -Ev` read it), or when the test cache holds a pass of
//! it (test lines only; never with the sentinel, `USE_TEST_CACHE=0` or `NO_CACHE=1`). Each line
//! that goes is told as `SKIPPED...: LINE` on fd 3 when the caller opened it (the original
//! piped fd 3 into `cache_log "Skipped tests"`), else on stderr.

use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::Path;

use regex::bytes::Regex;
use serde_norway::Value;

use super::test_line::TestLine;
use super::test_patterns::{entries, entry_regex};
use crate::cache::test_cache;
use crate::error::{Error, Kind, Result, ResultExt};
use crate::settings::Settings;
use crate::store::Store;
use crate::trust::Trust;
use crate::{err, fail};

/// The file of skip patterns, at the repo root.
pub const PATTERNS_FILE: &str = ".test_patterns.yml";

/// The `skip: true` regexes of a `.test_patterns.yml`.
pub struct Patterns {
    skip: Vec<Regex>,
}

impl Patterns {
    /// The patterns of `root/.test_patterns.yml`; none when there is no such file. A file that
    /// cannot be read as one is an error naming it: silently running skipped tests, or skipping
    /// others, would be worse than stopping.
    pub fn load(root: &Path) -> Result<Patterns> {
        let path = root.join(PATTERNS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(Patterns { skip: Vec::new() })
            }
            Err(err) => {
                return Err(Error::io(
                    &path,
                    format!("{}: cannot read it: {err}", path.display()),
                ))
            }
        };
        Patterns::parse(&text).map_err(|err| err.context(path.display()).with_kind(Kind::Config))
    }

    /// The entries are a list, at the top or under `tests:` (the original's layout, beside its
    /// `names:` of owner anchors); each is a mapping with `regex` and maybe `skip`, `owners`...
    pub fn parse(text: &str) -> Result<Patterns> {
        let entries = entries(text)?;
        let mut skip = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if entry.get("skip") != Some(&Value::Bool(true)) {
                continue;
            }
            let Some(ere) = entry.get("regex").and_then(Value::as_str) else {
                fail!(Config, "entry {} has `skip: true` but no `regex`", i + 1);
            };
            let regex = entry_regex(ere).map_err(|e| {
                err!(
                    Config,
                    "entry {}: invalid regex '{ere}': {}",
                    i + 1,
                    e.message()
                )
            })?;
            skip.push(regex);
        }
        Ok(Patterns { skip })
    }

    pub fn skips(&self, line: &[u8]) -> bool {
        self.skip.iter().any(|re| re.is_match(line))
    }
}

/// Why a line does not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Pattern,
    Passed,
}

/// Each line and why it is skipped (`None`: it runs), in input order, and the lookups that
/// failed.
pub struct Filtered<'a> {
    pub lines: Vec<(&'a [u8], Option<Skip>)>,
    pub errors: Vec<crate::Error>,
}

/// Decides each line. `store` is `None` when the test cache is off; a lookup that fails keeps
/// its line (running a test is never wrong) and is counted.
pub fn filter<'a>(
    settings: &Settings,
    patterns: &Patterns,
    store: Option<(&dyn Store, &Trust)>,
    lines: &'a [Vec<u8>],
) -> Filtered<'a> {
    let mut decided: Vec<(&[u8], Option<Skip>)> = lines
        .iter()
        .map(|line| {
            let skip = patterns.skips(line).then_some(Skip::Pattern);
            (line.as_slice(), skip)
        })
        .collect();
    let mut errors = Vec::new();
    let Some((store, trust)) = store else {
        return Filtered {
            lines: decided,
            errors,
        };
    };
    let asked: Vec<usize> = decided
        .iter()
        .enumerate()
        .filter(|(_, (line, skip))| skip.is_none() && TestLine::parse(line).cacheable())
        .map(|(i, _)| i)
        .collect();
    let keys: Vec<String> = asked
        .iter()
        .map(|&i| test_cache::key(decided[i].0))
        .collect();
    let answers = match test_cache::server_cache(settings) {
        Some(Ok(kv)) => kv.lookup_all(trust, &keys),
        Some(Err(err)) => keys
            .iter()
            .map(|_| Err(crate::Error::new(err.kind(), err.message())))
            .collect(),
        None => test_cache::lookup_all(store, trust, &keys, settings.tests.cache_ttl),
    };
    for (i, answer) in asked.into_iter().zip(answers) {
        match answer {
            Ok(true) => decided[i].1 = Some(Skip::Passed),
            Ok(false) => {}
            Err(err) => errors.push(err),
        }
    }
    Filtered {
        lines: decided,
        errors,
    }
}

/// Whether the test cache is consulted at all.
pub fn cache_on(settings: &Settings) -> bool {
    settings.tests.use_cache && !settings.no_cache
}

/// Fd 3, when the caller opened it. Call before anything else opens a file: from then on a
/// free fd 3 could be any file of ours.
pub fn fd3() -> Option<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fcntl with F_GETFD only reads the descriptor's flags.
    if unsafe { libc::fcntl(3, libc::F_GETFD) } == -1 {
        return None;
    }
    // SAFETY: fd 3 is open and nothing else in this process owns it.
    Some(unsafe { File::from_raw_fd(3) })
}

/// `filter_test_cmds`: lines from `input`, those to run on `out`, the skipped ones told on
/// `told` (fd 3, else stderr).
pub fn run(
    settings: &Settings,
    store: Option<(&dyn Store, &Trust)>,
    input: impl BufRead,
    out: &mut impl Write,
    mut told: Option<File>,
) -> Result<i32> {
    let root = super::run_test::root(settings)?;
    let patterns = Patterns::load(&root)?;
    let lines = input
        .split(b'\n')
        .collect::<io::Result<Vec<_>>>()
        .context("reading test lines from stdin")?;
    let Filtered {
        lines: decided,
        errors,
    } = filter(settings, &patterns, store, &lines);
    if let (Some(first), Some((store, _))) = (errors.first(), store) {
        eprintln!(
            "filter_test_cmds: cannot check the test cache in {} ({first}); {} tests run unchecked.",
            store.describe(),
            errors.len()
        );
    }
    let mut say = |text: &[u8]| {
        let written = match told.as_mut() {
            Some(fd3) => fd3.write_all(text),
            None => Err(io::ErrorKind::Other.into()),
        };
        if written.is_err() {
            let _ = io::stderr().write_all(text);
        }
    };
    for (line, skip) in decided {
        let prefix: &[u8] = match skip {
            None => {
                out.write_all(line)?;
                out.write_all(b"\n")?;
                continue;
            }
            Some(Skip::Passed) => b"SKIPPED: ",
            Some(Skip::Pattern) => b"SKIPPED (skip: true in .test_patterns.yml): ",
        };
        say(&[prefix, line, b"\n"].concat());
    }
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_layout_with_anchors() {
        let text = r#"
names:
  - alice: &alice "U01"
tests:
  - regex: "noir_lsp-.* requests::"
    skip: true
    owners:
      - *alice
  - regex: "src/e2e_p2p"
    error_regex: "could not listen"
    owners:
      - *alice
  - regex: "flaky\\(x\\)|BOX=vanilla BROWSER=* run"
    skip: true
"#;
        let p = Patterns::parse(text).unwrap();
        assert!(p.skips(b"abc noir_lsp-1 requests::foo"));
        assert!(!p.skips(b"abc noir_lsp requests::foo"));
        assert!(
            !p.skips(b"yarn-project/src/e2e_p2p/x.test.ts"),
            "not skip: true"
        );
        assert!(p.skips(b"h flaky(x)"));
        assert!(p.skips(b"h BOX=vanilla BROWSER=== run"));
    }

    #[test]
    fn a_plain_list_and_empty_files() {
        let p = Patterns::parse("- regex: slow_test\n  skip: true\n- regex: other\n").unwrap();
        assert!(p.skips(b"x slow_test y") && !p.skips(b"x other"));
        assert!(!Patterns::parse("").unwrap().skips(b"x"));
        assert!(!Patterns::parse("names: []\n").unwrap().skips(b"x"));
        // Only the boolean counts, as the original's `select(.skip == true)`.
        assert!(!Patterns::parse("- regex: x\n  skip: \"yes\"\n")
            .unwrap()
            .skips(b"x"));
    }

    #[test]
    fn files_that_cannot_be_right_say_where() {
        let err = |text: &str| format!("{:#}", Patterns::parse(text).err().unwrap());
        assert!(err("- regex: \"a(\"\n  skip: true\n").contains("entry 1: invalid regex 'a('"));
        assert!(err("- skip: true\n").contains("entry 1 has `skip: true` but no `regex`"));
        assert!(err("tests: 3\n").contains("`tests` is not a list"));
        assert!(err("a: [\n").contains("not YAML"));
    }
}
