//! One line of the test pipeline: `HASH[:KEY=VALUE]... COMMAND`, or a plain shell command.
//!
//! HASH is a content hash (16 hex chars) or the sentinel; it may be empty when knobs follow (a
//! script whose hash variable came out empty still means a test line). The knobs are exported
//! to the command; `CPUS`, `MEM`, `TIMEOUT`, `NAME` and `ISOLATE` also change how it runs.
//! A first word of any other form makes the whole line a plain command: no knobs, no timeout,
//! never cached.

use std::borrow::Cow;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fail;
use crate::hash::{contains, SENTINEL};
use crate::settings::TestVars;

/// Cores a test gets when its line does not say.
pub const DEFAULT_CPUS: usize = 2;
/// `TIMEOUT` when neither the line nor the caller says.
pub const DEFAULT_TIMEOUT: &str = "600s";

/// A parsed line; it borrows the line's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLine<'a> {
    /// The whole line, as its test-cache key is computed from it.
    pub line: &'a [u8],
    /// The knobs in line order; `None` for a plain command.
    pub knobs: Option<Vec<(String, String)>>,
    /// What runs with `bash -c`: everything after the first space of a test line, or the line.
    pub command: &'a [u8],
}

/// How a test runs, its knobs and defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cpus: usize,
    /// `None`: no timeout (`TIMEOUT=0`).
    pub timeout: Option<Duration>,
    pub isolate: bool,
    pub name: Option<String>,
    /// Exported to the command: every knob of the line, then `CPUS`, `MEM`, `TIMEOUT`.
    pub env: Vec<(String, String)>,
}

impl<'a> TestLine<'a> {
    pub fn parse(line: &'a [u8]) -> TestLine<'a> {
        let (first, rest) = match line.iter().position(|&b| b == b' ') {
            Some(space) => (&line[..space], &line[space + 1..]),
            None => (line, &b""[..]),
        };
        match parse_prefix(first) {
            Some(knobs) => TestLine {
                line,
                knobs: Some(knobs),
                command: rest,
            },
            None => TestLine {
                line,
                knobs: None,
                command: line,
            },
        }
    }

    pub fn is_test(&self) -> bool {
        self.knobs.is_some()
    }

    /// Whether a pass may be recorded in, and looked up from, the test cache: test lines only
    /// (a plain command has no content hash tying it to its inputs), never with the sentinel.
    pub fn cacheable(&self) -> bool {
        self.is_test() && !contains(self.line, SENTINEL.as_bytes())
    }

    /// The value of knob `key` (the last one when repeated, as repeated exports would leave it).
    pub fn knob(&self, key: &str) -> Option<&str> {
        self.knobs
            .as_ref()?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The command as `PASSED:`/`FAILED:` lines show it.
    pub fn display(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.command)
    }

    /// The resources of a test line; a knob that cannot be right is an error naming it. The
    /// caller's `CPUS`, `MEM` and `TIMEOUT` are the defaults, as when the original exported
    /// the line's knobs over the caller's environment.
    pub fn resources(&self, vars: &TestVars) -> Result<Resources> {
        let cpus_text = self.knob("CPUS").or(vars.cpus.as_deref());
        let cpus = match cpus_text {
            None => DEFAULT_CPUS,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    fail!(
                        Config,
                        "invalid CPUS '{text}': a whole number of cores, >= 1"
                    )
                }
            },
        };
        let timeout_text = self
            .knob("TIMEOUT")
            .or(vars.timeout.as_deref())
            .unwrap_or(DEFAULT_TIMEOUT);
        let timeout = parse_timeout(timeout_text).ok_or_else(|| {
            Error::config(format!("invalid TIMEOUT '{timeout_text}': seconds, or a number with s, m, h or d (600, 90s, 20m, 1h)"))
        })?;
        let mem = self
            .knob("MEM")
            .or(vars.mem.as_deref())
            .map_or_else(|| format!("{}g", cpus * 4), str::to_string);
        let mut env: Vec<(String, String)> = self.knobs.clone().unwrap_or_default();
        env.push(("CPUS".into(), cpus.to_string()));
        env.push(("MEM".into(), mem));
        env.push(("TIMEOUT".into(), timeout_text.to_string()));
        Ok(Resources {
            cpus,
            timeout,
            isolate: self.knob("ISOLATE") == Some("1"),
            name: self.knob("NAME").map(str::to_string),
            env,
        })
    }
}

/// The knobs of a first word `HASH[:KEY=VALUE]...`, or `None` when it is not of that form.
fn parse_prefix(word: &[u8]) -> Option<Vec<(String, String)>> {
    let word = std::str::from_utf8(word).ok()?;
    let mut parts = word.split(':');
    let hash = parts.next()?;
    let knobs = parts
        .map(|part| {
            let (key, value) = part.split_once('=')?;
            is_name(key).then(|| (key.to_string(), value.to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    let is_hash = hash == SENTINEL
        || (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        || (hash.is_empty() && !knobs.is_empty());
    is_hash.then_some(knobs)
}

/// A shell variable name.
fn is_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `TIMEOUT` as `timeout(1)` reads it: a number (fraction allowed) with an optional unit `s`,
/// `m`, `h` or `d`. `Some(None)` for 0, which means no timeout.
pub fn parse_timeout(text: &str) -> Option<Option<Duration>> {
    let (number, unit) = match text.strip_suffix(['s', 'm', 'h', 'd']) {
        Some(number) => (number, &text[number.len()..]),
        None => (text, "s"),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => 86400.0,
    };
    let seconds = value * scale;
    if seconds == 0.0 {
        return Some(None);
    }
    Duration::try_from_secs_f64(seconds).ok().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef";

    fn vars() -> TestVars {
        TestVars::default()
    }

    #[test]
    fn a_test_line_has_a_hash_knobs_and_a_command() {
        let text = format!("{HASH}:CPUS=8:MEM=16g:TIMEOUT=20m:NAME=e2e yarn test 'a b'");
        let line = TestLine::parse(text.as_bytes());
        assert!(line.is_test() && line.cacheable());
        assert_eq!(line.command, b"yarn test 'a b'");
        assert_eq!(line.display(), "yarn test 'a b'");
        assert_eq!(line.knob("NAME"), Some("e2e"));
        let r = line.resources(&vars()).unwrap();
        assert_eq!(r.cpus, 8);
        assert_eq!(r.timeout, Some(Duration::from_secs(1200)));
        assert_eq!(r.name.as_deref(), Some("e2e"));
        assert!(!r.isolate);
        let env: Vec<String> = r.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            env,
            [
                "CPUS=8",
                "MEM=16g",
                "TIMEOUT=20m",
                "NAME=e2e",
                "CPUS=8",
                "MEM=16g",
                "TIMEOUT=20m"
            ]
        );
    }

    #[test]
    fn defaults() {
        let text = format!("{HASH} ./run.sh");
        let line = TestLine::parse(text.as_bytes());
        assert_eq!(line.knobs, Some(vec![]));
        let r = line.resources(&vars()).unwrap();
        assert_eq!(r.cpus, 2);
        assert_eq!(r.timeout, Some(Duration::from_secs(600)));
        assert_eq!(
            r.env,
            [
                ("CPUS".to_string(), "2".to_string()),
                ("MEM".into(), "8g".into()),
                ("TIMEOUT".into(), "600s".into())
            ]
        );
        // The caller's CPUS and TIMEOUT are the defaults; MEM follows CPUS.
        let caller = TestVars {
            cpus: Some("3".into()),
            timeout: Some("90s".into()),
            ..vars()
        };
        let r = line.resources(&caller).unwrap();
        assert_eq!((r.cpus, r.timeout), (3, Some(Duration::from_secs(90))));
        assert!(r.env.contains(&("MEM".into(), "12g".into())));
        let text = format!("{HASH}:CPUS=1 x");
        let r = TestLine::parse(text.as_bytes()).resources(&caller).unwrap();
        assert_eq!(r.cpus, 1, "the line wins over the caller");
    }

    #[test]
    fn sentinel_and_empty_hashes() {
        let line = TestLine::parse(b"disabled-cache:ISOLATE=1 make test");
        assert!(line.is_test() && !line.cacheable());
        assert!(line.resources(&vars()).unwrap().isolate);
        let line = TestLine::parse(b":CPUS=4 make test");
        assert_eq!(line.knob("CPUS"), Some("4"));
        assert_eq!(line.command, b"make test");
        // A hash with nothing after it runs nothing.
        let text = HASH.to_string();
        let line = TestLine::parse(text.as_bytes());
        assert!(line.is_test());
        assert_eq!(line.command, b"");
    }

    #[test]
    fn anything_else_is_a_plain_command() {
        for text in [
            "echo hi",
            "0123456789abcde echo short hash",
            "0123456789abcdefa echo long hash",
            "0123456789abcdeg echo not hex",
            "0123456789abcdef:CPUS echo knob without value",
            "0123456789abcdef:1X=2 echo bad name",
            ": echo colon",
            "",
            "  0123456789abcdef echo leading space",
        ] {
            let line = TestLine::parse(text.as_bytes());
            assert!(!line.is_test(), "{text:?}");
            assert!(!line.cacheable(), "{text:?}");
            assert_eq!(line.command, text.as_bytes());
        }
        // A tab does not end the first word (the original split on the first space only).
        let line = TestLine::parse(b"0123456789abcdef\techo x");
        assert!(!line.is_test());
    }

    #[test]
    fn knobs_that_cannot_be_right() {
        for (knob, phrase) in [
            ("CPUS=0", "invalid CPUS '0'"),
            ("CPUS=two", "invalid CPUS 'two'"),
            ("TIMEOUT=10x", "invalid TIMEOUT '10x'"),
            ("TIMEOUT=", "invalid TIMEOUT ''"),
        ] {
            let text = format!("{HASH}:{knob} true");
            let err = TestLine::parse(text.as_bytes())
                .resources(&vars())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(phrase), "{knob}: {err}");
        }
    }

    #[test]
    fn timeouts() {
        let secs = |t: &str| parse_timeout(t).map(|d| d.map(|d| d.as_secs_f64()));
        assert_eq!(secs("600"), Some(Some(600.0)));
        assert_eq!(secs("90s"), Some(Some(90.0)));
        assert_eq!(secs("20m"), Some(Some(1200.0)));
        assert_eq!(secs("1h"), Some(Some(3600.0)));
        assert_eq!(secs("1d"), Some(Some(86400.0)));
        assert_eq!(secs("1.5"), Some(Some(1.5)));
        assert_eq!(secs("0"), Some(None));
        for bad in ["", "s", "-1", "1x", "1 h", "1e3", "1hs"] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
