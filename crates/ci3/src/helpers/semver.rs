//! SemVer 2.0.0 versions as release scripts use them: validity, parts, precedence order.
//!
//! One variant on the standard, kept from the original tool: a leading `v` is allowed, because
//! release tags carry it (`v1.2.3`). Parts are kept as the text given, so numbers of any length
//! work and `major` prints what the tag says.

use std::cmp::Ordering;

/// A valid version, borrowing the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// The whole argument, leading `v` included.
    pub text: &'a str,
    pub major: &'a str,
    pub minor: &'a str,
    pub patch: &'a str,
    /// The identifiers after `-`, dot-separated ("" when there are none).
    pub prerelease: &'a str,
    /// The identifiers after `+`, dot-separated ("" when there are none).
    pub buildmetadata: &'a str,
}

/// A part `semver PART V` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Major,
    Minor,
    Patch,
    Prerelease,
    Buildmetadata,
}

impl Part {
    pub fn from_name(name: &str) -> Option<Part> {
        Some(match name {
            "major" => Part::Major,
            "minor" => Part::Minor,
            "patch" => Part::Patch,
            "prerelease" => Part::Prerelease,
            "buildmetadata" => Part::Buildmetadata,
            _ => return None,
        })
    }
}

impl<'a> Version<'a> {
    pub fn part(&self, part: Part) -> &'a str {
        match part {
            Part::Major => self.major,
            Part::Minor => self.minor,
            Part::Patch => self.patch,
            Part::Prerelease => self.prerelease,
            Part::Buildmetadata => self.buildmetadata,
        }
    }
}

/// Parses `text` (with an optional leading `v`); `None` when it is not a SemVer 2.0.0 version.
pub fn parse(text: &str) -> Option<Version<'_>> {
    let body = text.strip_prefix('v').unwrap_or(text);
    let (rest, buildmetadata) = match body.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (body, None),
    };
    let (core, prerelease) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let mut numbers = core.split('.');
    let (major, minor, patch) = (numbers.next()?, numbers.next()?, numbers.next()?);
    if numbers.next().is_some() || ![major, minor, patch].iter().all(|n| is_number(n)) {
        return None;
    }
    if let Some(pre) = prerelease {
        if !pre.split('.').all(is_prerelease_identifier) {
            return None;
        }
    }
    if let Some(build) = buildmetadata {
        if !build.split('.').all(is_identifier) {
            return None;
        }
    }
    Some(Version {
        text,
        major,
        minor,
        patch,
        prerelease: prerelease.unwrap_or(""),
        buildmetadata: buildmetadata.unwrap_or(""),
    })
}

/// `[0-9A-Za-z-]+`.
fn is_identifier(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_digits(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

/// `0|[1-9][0-9]*`: no leading zeros.
fn is_number(id: &str) -> bool {
    is_digits(id) && (id == "0" || !id.starts_with('0'))
}

/// A number without leading zeros, or an identifier with a non-digit.
fn is_prerelease_identifier(id: &str) -> bool {
    is_identifier(id) && (!is_digits(id) || is_number(id))
}

/// Numbers without leading zeros compare by length first, then digit by digit: no overflow.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// SemVer precedence: build metadata is ignored, a prerelease sorts before its release, and
/// prerelease identifiers compare numerically when both are numbers, else as ASCII, numbers
/// first, a longer list after its prefix.
pub fn compare(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    compare_numbers(a.major, b.major)
        .then_with(|| compare_numbers(a.minor, b.minor))
        .then_with(|| compare_numbers(a.patch, b.patch))
        .then_with(
            || match (a.prerelease.is_empty(), b.prerelease.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    let mut left = a.prerelease.split('.');
                    let mut right = b.prerelease.split('.');
                    loop {
                        match (left.next(), right.next()) {
                            (None, None) => return Ordering::Equal,
                            (None, Some(_)) => return Ordering::Less,
                            (Some(_), None) => return Ordering::Greater,
                            (Some(x), Some(y)) => {
                                let order = match (is_digits(x), is_digits(y)) {
                                    (true, true) => compare_numbers(x, y),
                                    (true, false) => Ordering::Less,
                                    (false, true) => Ordering::Greater,
                                    (false, false) => x.cmp(y),
                                };
                                if order != Ordering::Equal {
                                    return order;
                                }
                            }
                        }
                    }
                }
            },
        )
}

/// The versions in ascending precedence (equal ones in the order given), or the first text
/// that is not a version.
pub fn sort(texts: &[String]) -> Result<Vec<&str>, &str> {
    let mut versions = texts
        .iter()
        .map(|t| parse(t).ok_or(t.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    versions.sort_by(compare);
    Ok(versions.into_iter().map(|v| v.text).collect())
}

/// Versions that must parse, texts that must not, and pairs in strictly ascending order: what
/// `semver test` checks on the machine it runs on.
const VALID: &[&str] = &[
    "0.0.0",
    "1.2.3",
    "v1.2.3",
    "10.20.30",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-0.3.7",
    "1.0.0-x.7.z.92",
    "1.0.0-x-y-z.--",
    "1.0.0-alpha+001",
    "1.0.0+20130313144700",
    "1.0.0-beta+exp.sha.5114f85",
    "1.0.0+21AF26D3----117B344092BD",
    "5.0.0-nightly.20260415",
    "99999999999999999999999.999999999999999999.99999999999999999",
];
const INVALID: &[&str] = &[
    "",
    "v",
    "1",
    "1.2",
    "1.2.3.4",
    "01.2.3",
    "1.02.3",
    "1.2.03",
    "V1.2.3",
    "vv1.2.3",
    " 1.2.3",
    "1.2.3 ",
    "1.2.3-",
    "1.2.3+",
    "1.2.3-01",
    "1.2.3-alpha..1",
    "1.2.3-alpha_1",
    "1.2.3+build+meta",
    "1.2.-3",
    "master",
    "+invalid",
    "-invalid",
];
const ASCENDING: &[&str] = &[
    "1.0.0-0",
    "1.0.0-1",
    "1.0.0-2",
    "1.0.0-10",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "1.10.0",
    "2.0.0",
    "10.0.0",
];

/// Runs the built-in checks; the failures, one line each (empty when all passed), and how many
/// checks ran.
pub fn self_test() -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut count = 0;
    for text in VALID {
        count += 1;
        if parse(text).is_none() {
            failures.push(format!("'{text}' should be valid"));
        }
    }
    for text in INVALID {
        count += 1;
        if parse(text).is_some() {
            failures.push(format!("'{text}' should be invalid"));
        }
    }
    for pair in ASCENDING.windows(2) {
        count += 1;
        let (a, b) = (parse(pair[0]), parse(pair[1]));
        match (a, b) {
            (Some(a), Some(b)) if compare(&a, &b) == Ordering::Less => {}
            _ => failures.push(format!("'{}' should sort before '{}'", pair[0], pair[1])),
        }
    }
    count += 1;
    match parse("v5.0.0-nightly.20260415+build.7") {
        Some(v)
            if (v.major, v.minor, v.patch, v.prerelease, v.buildmetadata)
                == ("5", "0", "0", "nightly.20260415", "build.7") => {}
        _ => failures.push("the parts of 'v5.0.0-nightly.20260415+build.7'".into()),
    }
    count += 1;
    match (parse("1.0.0+a"), parse("1.0.0+b")) {
        (Some(a), Some(b)) if compare(&a, &b) == Ordering::Equal => {}
        _ => failures.push("build metadata should not count in precedence".into()),
    }
    (failures, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_checks_pass() {
        let (failures, count) = self_test();
        assert!(failures.is_empty(), "{failures:?}");
        assert!(count > 50);
    }

    #[test]
    fn sort_keeps_the_text_and_the_order_of_equals() {
        let texts: Vec<String> = ["v2.0.0", "1.0.0+b", "1.0.0-rc.1", "1.0.0+a", "v1.0.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            sort(&texts).unwrap(),
            ["1.0.0-rc.1", "1.0.0+b", "1.0.0+a", "v1.0.0", "v2.0.0"]
        );
        let bad: Vec<String> = vec!["1.0.0".into(), "nope".into()];
        assert_eq!(sort(&bad), Err("nope"));
    }
}
