//! The test pipeline `test_cmds | filter_test_cmds | parallelize` end to end: twenty tests twice
//! in CI against the S3 server `test_source` starts (`bash ci3/run_tests`), and the cores tests hold.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::command;
use common::exe::exe;
use common::pipeline::{finish, Out, Project, HASH, PATTERNS};

/// The lines of `text` that start with `prefix`, without it.
fn with_prefix<'a>(text: &'a str, prefix: &str) -> BTreeSet<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .collect()
}

/// `PASSED: CMD (Ns)` -> CMD.
fn passed(stdout: &str) -> BTreeSet<String> {
    with_prefix(stdout, "PASSED: ")
        .into_iter()
        .map(|rest| rest.rsplit_once(" (").expect("a duration").0.to_string())
        .collect()
}

fn s3_store(tag: &str) -> ci3::store::S3Store {
    let var = |name: &str| std::env::var(name).unwrap();
    let settings = ci3::store::S3Settings::at(
        &var("CI3_S3_ENDPOINT"),
        &var("CI3_S3_BUCKET"),
        &format!("pipeline-{}-{tag}/", std::process::id()),
        &var("AWS_ACCESS_KEY_ID"),
        &var("AWS_SECRET_ACCESS_KEY"),
    );
    ci3::store::S3Store::new(settings, std::sync::Arc::new(ci3::report::Silent)).unwrap()
}

#[test]
fn twenty_tests_twice_in_ci_against_s3() {
    use ci3::store::Store;
    let p = Project::new(Some("twice"));
    p.repo.write(".test_patterns.yml", PATTERNS);
    // 17 tests that pass, one with the sentinel that passes, one past its timeout, one skipped
    // by .test_patterns.yml. Each leaves a mark in `ran` (relative: they run from root).
    let mut lines: Vec<String> = (1..=17)
        .map(|i| format!("{HASH}:CPUS=1:NAME=t{i} echo test {i} >>ran"))
        .collect();
    lines.insert(3, format!("{HASH}:CPUS=1:TIMEOUT=2s sleep 30"));
    lines.insert(9, "disabled-cache:CPUS=1 echo uncached >>ran".to_string());
    lines.insert(12, format!("{HASH}:CPUS=1 ./known_broken_7.sh"));
    assert_eq!(lines.len(), 20);
    let input = lines.join("\n") + "\n";
    let ci = [("CI", "1")];

    let (first, skipped) = p.pipeline(&input, "4", &ci);
    assert_eq!(
        first.code, 1,
        "the timed-out test fails the run: {}",
        first.stderr
    );
    let mut expected: BTreeSet<String> = (1..=17).map(|i| format!("echo test {i} >>ran")).collect();
    expected.insert("echo uncached >>ran".into());
    assert_eq!(passed(&first.stdout), expected, "{}", first.stdout);
    let out: Vec<&str> = first.stdout.lines().collect();
    let failed = out
        .iter()
        .position(|l| l.starts_with("FAILED: sleep 30 ("))
        .unwrap_or_else(|| panic!("{}", first.stdout));
    assert!(out[failed].ends_with("s) (code: 124)"), "{}", out[failed]);
    assert_eq!(
        out[failed + 1],
        "timeout: sending signal TERM to command 'bash' (TIMEOUT=2s)"
    );
    assert_eq!(
        out.last().map(|l| l.split(" in ").next().unwrap()),
        Some("Completed run of 19 tests")
    );
    assert!(out.last().unwrap().ends_with(" seconds."));
    assert_eq!(
        skipped,
        format!(
            "SKIPPED (skip: true in .test_patterns.yml): {}\n",
            lines[12]
        )
    );
    assert_eq!(p.read("ran").lines().count(), 18);
    // The joblog at root: every line that ran, 124 for the timed-out one.
    let joblog = p.read("joblog.txt");
    assert_eq!(joblog.lines().count(), 19, "{joblog}");
    let sleep_row = joblog
        .lines()
        .find(|l| l.ends_with("sleep 30"))
        .expect("a row for the timed-out test");
    assert_eq!(sleep_row.split('\t').nth(1), Some("124"), "{sleep_row}");
    // One object per test that passed and may be cached: not the sentinel's, not the failure.
    let store = s3_store("twice");
    let entries = store.list(".ci3/tests/").unwrap();
    assert_eq!(entries.len(), 17, "{entries:?}");
    let key = ci3::hash::hash_str_orig(lines[0].as_bytes());
    assert!(
        entries.contains(&format!(".ci3/tests/{key}")),
        "{entries:?}"
    );

    let (second, skipped) = p.pipeline(&input, "4", &ci);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert_eq!(
        passed(&second.stdout),
        BTreeSet::from(["echo uncached >>ran".to_string()]),
        "only the sentinel's test passes again: {}",
        second.stdout
    );
    assert!(
        second.stdout.contains("FAILED: sleep 30 ("),
        "the failure runs again"
    );
    assert!(second.stdout.contains("\nCompleted run of 2 tests in "));
    let mut told: BTreeSet<&str> = with_prefix(&skipped, "SKIPPED: ");
    let cached: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l.contains(":NAME=t"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        told, cached,
        "every test that passed is skipped, told on fd 3"
    );
    told = with_prefix(&skipped, "SKIPPED (skip: true in .test_patterns.yml): ");
    assert_eq!(told, BTreeSet::from([lines[12].as_str()]));
    assert_eq!(
        p.read("ran").lines().count(),
        19,
        "one more: the sentinel's"
    );

    // Without the cache everything but the pattern's skip runs again.
    let (third, _) = p.pipeline(&input, "4", &[("CI", "1"), ("USE_TEST_CACHE", "0")]);
    assert!(
        third.stdout.contains("\nCompleted run of 19 tests in "),
        "{}",
        third.stdout
    );
}

/// The cores a tool sees: `taskset -c 0,1` makes a 2-core machine of any bigger one.
fn two_cores(p: &Project, lines: &str) -> (Out, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines");
    fs::write(&input, lines).unwrap();
    let mut cmd = command("taskset");
    cmd.args(["-c", "0,1", exe("parallelize"), "4"])
        .current_dir(std::env::temp_dir())
        .envs(p.envs.iter().map(|(k, v)| (k, v)))
        .stdin(fs::File::open(&input).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    (finish(cmd.spawn().unwrap()), p.read("counts"))
}

/// Lines that each mark themselves running, count the marks, record their cores, and unmark.
fn counting_lines(knob: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{HASH}:{knob} mkdir -p running; touch running/{i}; ls running | wc -l >>counts; \
                 grep Cpus_allowed_list /proc/self/status >>cores; sleep 0.4; rm running/{i}\n"
            )
        })
        .collect()
}

fn max_count(counts: &str) -> usize {
    counts
        .lines()
        .map(|l| l.trim().parse::<usize>().unwrap())
        .max()
        .unwrap()
}

#[test]
fn tests_never_hold_more_cores_than_the_machine_has() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let usable = Command::new("taskset")
        .args(["-c", "0,1", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if cores < 2 || !usable {
        eprintln!("skipped: needs cores 0 and 1 and taskset");
        return;
    }
    // CPUS=2 on 2 cores: one at a time, whatever JOBS says; on the whole machine, unpinned.
    let p = Project::new(None);
    let (out, counts) = two_cores(&p, &counting_lines("CPUS=2", 4));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(counts.lines().count(), 4);
    assert_eq!(max_count(&counts), 1, "never two at once: {counts}");
    let seen: BTreeSet<String> = p.read("cores").lines().map(str::to_string).collect();
    assert_eq!(
        seen,
        BTreeSet::from(["Cpus_allowed_list:\t0-1".to_string()])
    );
    // CPUS=1: two at once (the measure sees overlap), each pinned to a core of its own.
    let p = Project::new(None);
    let (out, counts) = two_cores(&p, &counting_lines("CPUS=1", 6));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(max_count(&counts), 2, "{counts}");
    let seen: BTreeSet<String> = p.read("cores").lines().map(str::to_string).collect();
    assert_eq!(
        seen,
        BTreeSet::from([
            "Cpus_allowed_list:\t0".to_string(),
            "Cpus_allowed_list:\t1".to_string()
        ])
    );
    // A plain command holds no cores: JOBS alone limits it, as before.
    let p = Project::new(None);
    let plain: String = (0..4)
        .map(|i| {
            format!(
                "mkdir -p running; touch running/{i}; ls running | wc -l >>counts; sleep 0.4; rm running/{i}\n"
            )
        })
        .collect();
    let (out, counts) = two_cores(&p, &plain);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(max_count(&counts), 4, "{counts}");
}

#[test]
fn hash_str_orig_agrees_with_the_shell() {
    let toolbox = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci3/source");
    let inputs = [
        format!("{HASH}:CPUS=8 yarn test 'a  b'"),
        "  spaced\tand\ttabbed   words ".to_string(),
        "*".to_string(),
        "-n no newline".to_string(),
        "-e esc\\tapes\\x41".to_string(),
        String::new(),
    ];
    for input in &inputs {
        let reference = command("bash")
            .args([
                "-c",
                "set -f; echo $1 | git hash-object --stdin | cut -c1-16",
                "_",
                input,
            ])
            .output()
            .unwrap();
        let shell = command("bash")
            .args([
                "-c",
                "NO_CD=1 source \"$0\" >/dev/null 2>&1; hash_str_orig \"$1\"",
                toolbox.to_str().unwrap(),
                input,
            ])
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .output()
            .unwrap();
        let ours = ci3::hash::hash_str_orig(input.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&reference.stdout).trim_end(),
            ours,
            "{input:?}"
        );
        assert_eq!(String::from_utf8_lossy(&shell.stdout), ours, "{input:?}");
    }
}
