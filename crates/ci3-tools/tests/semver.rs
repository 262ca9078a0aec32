//! semver: checking a version's parts and sorting versions as the release scripts do.

mod common;

use common::exe::exe;
use common::{command, run, Output};

fn semver(args: &[&str]) -> Output {
    run(command(exe("semver")).args(args))
}

#[test]
fn semver_checks_parts_and_sorts() {
    for valid in [
        "1.2.3",
        "v1.2.3",
        "0.0.0",
        "5.0.0-nightly.20260415",
        "1.0.0-alpha.1+build.7",
        "1.0.0+20130313144700",
    ] {
        let out = semver(&["check", valid]);
        assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{valid}");
    }
    for invalid in [
        "V1.2.3", "vv1.2.3", "1.2", "01.2.3", "1.2.3-01", "1.2.3-", "master", "",
    ] {
        let out = semver(&["check", invalid]);
        assert_eq!(out.code, 1, "{invalid:?}");
        assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    }

    let v = "v5.10.0-nightly.20260415+sha.5114f85";
    for (part, expected) in [
        ("major", "5\n"),
        ("minor", "10\n"),
        ("patch", "0\n"),
        ("prerelease", "nightly.20260415\n"),
        ("buildmetadata", "sha.5114f85\n"),
    ] {
        let out = semver(&[part, v]);
        assert_eq!((out.code, out.stdout.as_str()), (0, expected), "{part}");
    }
    assert_eq!(semver(&["prerelease", "1.2.3"]).stdout, "\n");
    // The first original's order: the version, then the part.
    assert_eq!(semver(&["1.2.3-rc.1", "prerelease"]).stdout, "rc.1\n");
    assert_eq!(semver(&["v1.2.3", "check"]).code, 0);

    let bad = semver(&["major", "1.2"]);
    assert_eq!((bad.code, bad.stdout.as_str()), (1, ""));
    assert_eq!(bad.stderr, "Invalid SemVer: 1.2\n");
    let usage = semver(&["frob", "1.2.3"]);
    assert_eq!(usage.code, 2);
    assert!(
        usage.stderr.starts_with("Usage: semver"),
        "{}",
        usage.stderr
    );

    let sorted = semver(&[
        "sort",
        "1.0.0",
        "v2.0.0",
        "1.0.0-rc.1",
        "1.0.0-alpha.10",
        "1.0.0-alpha.9",
        "1.0.0-alpha",
        "1.10.0",
        "1.9.0",
        "1.0.0-beta",
    ]);
    assert_eq!(sorted.code, 0, "{}", sorted.stderr);
    assert_eq!(
        sorted.stdout,
        "1.0.0-alpha\n1.0.0-alpha.9\n1.0.0-alpha.10\n1.0.0-beta\n1.0.0-rc.1\n1.0.0\n1.9.0\n1.10.0\nv2.0.0\n"
    );
    let bad_sort = semver(&["sort", "1.0.0", "nope"]);
    assert_eq!((bad_sort.code, bad_sort.stdout.as_str()), (1, ""));
    assert_eq!(bad_sort.stderr, "Invalid SemVer: nope\n");

    let selftest = semver(&["test"]);
    assert_eq!(selftest.code, 0, "{}", selftest.stderr);
    assert!(
        selftest.stdout.contains("checks passed"),
        "{}",
        selftest.stdout
    );
}
