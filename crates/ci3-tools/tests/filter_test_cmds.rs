//! filter_test_cmds: `.test_patterns.yml` skips, in order and saying why, and patterns that
//! cannot be right stop it.

mod common;

use common::pipeline::{Project, HASH, PATTERNS};

#[test]
fn filter_test_cmds_keeps_order_and_says_what_it_skips() {
    let p = Project::new(None);
    p.repo.write(".test_patterns.yml", PATTERNS);
    let cached = format!("{HASH}:CPUS=1 echo cached");
    assert_eq!(p.run_test_cmd(&cached, &[("CI", "1")]).code, 0);
    // A plain command whose key is in the cache still runs: it has no content hash.
    let plain = "echo plain";
    let store = ci3::store::DirStore::new(p.store_dir.path().to_path_buf());
    let settings = ci3::settings::Settings::from_vars([("CI", "1")]);
    ci3::cache::test_cache::record(
        &settings,
        &store,
        &ci3::trust::Trust::default(),
        plain.as_bytes(),
    );
    let input = format!(
        "{HASH} echo one\n{cached}\n{HASH} ./known_broken_12\n{plain}\ndisabled-cache echo two\n{HASH} echo three\n"
    );
    let kept = format!("{HASH} echo one\n{plain}\ndisabled-cache echo two\n{HASH} echo three\n");
    // No fd 3: the skips are told on stderr.
    let out = p.pipe("filter_test_cmds", &[], &[], &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, kept);
    assert_eq!(
        out.stderr,
        format!(
            "SKIPPED: {cached}\nSKIPPED (skip: true in .test_patterns.yml): {HASH} ./known_broken_12\n"
        )
    );
    // The cache off: only the pattern skips.
    for off in [("USE_TEST_CACHE", "0"), ("NO_CACHE", "1")] {
        let out = p.pipe("filter_test_cmds", &[], &[off], &input);
        assert!(out.stdout.contains(&cached), "{off:?}");
        assert!(!out.stdout.contains("known_broken"), "{off:?}");
    }
    // An entry older than the TTL does not count.
    let out = p.pipe(
        "filter_test_cmds",
        &[],
        &[("CI3_TEST_CACHE_TTL", "0")],
        &input,
    );
    assert!(out.stdout.contains(&cached), "{}", out.stdout);
}

#[test]
fn filter_test_cmds_stops_on_patterns_that_cannot_be_right() {
    let p = Project::new(None);
    p.repo.write(
        ".test_patterns.yml",
        "tests:\n  - regex: \"a(\"\n    skip: true\n",
    );
    let out = p.pipe("filter_test_cmds", &[], &[], &format!("{HASH} echo x\n"));
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("filter_test_cmds: ")
            && out
                .stderr
                .contains(".test_patterns.yml: entry 1: invalid regex 'a('"),
        "{}",
        out.stderr
    );
}
