//! The test pipeline `test_cmds | filter_test_cmds | parallelize`, and `run_test_cmd`: test
//! lines with knobs, timeouts, cores, `.test_patterns.yml`, and the test cache in the S3 store
//! that `test_source` starts (`bash ci3/run_tests`) or in a directory store.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{command, Repo};

const HASH: &str = "0123456789abcdef";

fn exe(tool: &str) -> &'static str {
    match tool {
        "run_test_cmd" => env!("CARGO_BIN_EXE_run_test_cmd"),
        "filter_test_cmds" => env!("CARGO_BIN_EXE_filter_test_cmds"),
        "parallelize" => env!("CARGO_BIN_EXE_parallelize"),
        _ => panic!("no tool {tool}"),
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn finish(child: std::process::Child) -> Out {
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A repo to run tests in (`root`), with a store of its own: the S3 server's when `s3`, else a
/// directory.
struct Project {
    repo: Repo,
    store_dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl Project {
    fn new(s3_tag: Option<&str>) -> Project {
        let repo = Repo::new();
        let store_dir = tempfile::tempdir().unwrap();
        let mut envs = vec![
            ("root".to_string(), repo.path().display().to_string()),
            ("NO_FAIL_FAST".into(), "1".into()),
        ];
        match s3_tag {
            Some(tag) => {
                let var = |name: &str| {
                    std::env::var(name).unwrap_or_else(|_| {
                        panic!("{name} is not set: run the tests with `bash ci3/run_tests`")
                    })
                };
                let url = format!(
                    "s3://{}/pipeline-{}-{tag}/",
                    var("CI3_S3_BUCKET"),
                    std::process::id()
                );
                envs.push(("CI3_STORE".into(), url));
                for name in [
                    "CI3_S3_ENDPOINT",
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                ] {
                    envs.push((name.into(), var(name)));
                }
            }
            None => envs.push((
                "CI3_STORE".into(),
                format!("file://{}", store_dir.path().display()),
            )),
        }
        Project {
            repo,
            store_dir,
            envs,
        }
    }

    fn root(&self) -> &Path {
        self.repo.path()
    }

    fn cmd(&self, tool: &str, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut cmd = command(exe(tool));
        for var in [
            "USE_TEST_CACHE",
            "CI3_TEST_CACHE_TTL",
            "CPUS",
            "MEM",
            "TIMEOUT",
            "CPU_LIST",
            "JOBLOG",
            "GITHUB_RUN_URL",
        ] {
            cmd.env_remove(var);
        }
        // From elsewhere: the commands must run from `root` all the same.
        cmd.current_dir(std::env::temp_dir())
            .args(args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .envs(envs.iter().copied());
        cmd
    }

    /// `tool args` with `input` on stdin.
    fn pipe(&self, tool: &str, args: &[&str], envs: &[(&str, &str)], input: &str) -> Out {
        let mut child = self
            .cmd(tool, args, envs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        common::feed(&mut child, input.as_bytes());
        finish(child)
    }

    fn run_test_cmd(&self, line: &str, envs: &[(&str, &str)]) -> Out {
        let child = self
            .cmd("run_test_cmd", &[line], envs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child)
    }

    /// `filter_test_cmds < lines 3> skipped | parallelize JOBS`, as a script runs it; the
    /// statuses of both, parallelize's output, and what reached fd 3.
    fn pipeline(&self, lines: &str, jobs: &str, envs: &[(&str, &str)]) -> (Out, String) {
        let dir = tempfile::tempdir().unwrap();
        let (input, skipped) = (dir.path().join("lines"), dir.path().join("skipped"));
        fs::write(&input, lines).unwrap();
        let script = format!(
            "set -o pipefail; \"$FILTER\" <'{}' 3>'{}' | \"$PARALLELIZE\" {jobs}",
            input.display(),
            skipped.display()
        );
        let mut cmd = command("bash");
        cmd.args(["-c", &script])
            .current_dir(std::env::temp_dir())
            .env("FILTER", exe("filter_test_cmds"))
            .env("PARALLELIZE", exe("parallelize"))
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = finish(cmd.spawn().unwrap());
        (out, fs::read_to_string(&skipped).unwrap())
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root().join(rel)).unwrap_or_default()
    }
}

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

const PATTERNS: &str = r#"# As in the original: owners by anchor, a list under `tests:`.
names:
  - alice: &alice "U01"
tests:
  - regex: "known_broken_[0-9]+"
    skip: true
    owners:
      - *alice
  - regex: "echo test 1[0-9]"
    error_regex: "flaked"
    owners:
      - *alice
"#;

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
fn run_test_cmd_exports_the_knobs_and_runs_from_root() {
    let p = Project::new(None);
    let line =
        format!("{HASH}:NAME=knobs:NET=1 echo \"$CPUS $MEM $TIMEOUT $NAME $NET\"; pwd; exit 3");
    let out = p.run_test_cmd(&line, &[]);
    assert_eq!(out.code, 3);
    let root = p.root().canonicalize().unwrap();
    assert_eq!(
        out.stdout,
        format!(
            "FAILED: echo \"$CPUS $MEM $TIMEOUT $NAME $NET\"; pwd; exit 3 (0s) (code: 3)\n\
             2 8g 600s knobs 1\n{}\n",
            root.display()
        )
    );
    // The line's knobs over the caller's; MEM follows CPUS.
    let line = format!("{HASH}:CPUS=3 echo \"$CPUS $MEM $TIMEOUT\"; false");
    let out = p.run_test_cmd(&line, &[("CPUS", "5"), ("TIMEOUT", "1h")]);
    assert!(out.stdout.ends_with("\n3 12g 1h\n"), "{}", out.stdout);
    // A pass shows only its status line.
    let out = p.run_test_cmd(&format!("{HASH} echo quiet"), &[]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "PASSED: echo quiet (0s)\n")
    );
    // A plain command: the whole line is the command.
    let out = p.run_test_cmd("echo plain; exit 4", &[]);
    assert_eq!(out.code, 4);
    assert_eq!(
        out.stdout,
        "FAILED: echo plain; exit 4 (0s) (code: 4)\nplain\n"
    );
    assert_eq!(p.run_test_cmd("", &[]).code, 0);
}

#[test]
fn run_test_cmd_stops_the_whole_group_at_the_timeout() {
    let p = Project::new(None);
    let line = format!("{HASH}:TIMEOUT=1s sleep 30 & echo $! >bg.pid; echo started; wait");
    let started = std::time::Instant::now();
    let out = p.run_test_cmd(&line, &[]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out.code, 124, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "FAILED: sleep 30 & echo $! >bg.pid; echo started; wait (1s) (code: 124)\n\
         started\ntimeout: sending signal TERM to command 'bash' (TIMEOUT=1s)\n"
    );
    // The whole output is kept as a log in the (directory) store; stderr says where.
    let object = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Full output: "))
        .and_then(|r| r.split(" in directory ").next())
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        object.starts_with(".ci3/logs/") && object.ends_with(".log"),
        "{object}"
    );
    assert_eq!(
        fs::read_to_string(p.store_dir.path().join(object)).unwrap(),
        "started\ntimeout: sending signal TERM to command 'bash' (TIMEOUT=1s)\n"
    );
    let pid = p.read("bg.pid").trim().to_string();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let alive =
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "));
    assert!(!alive, "the background sleep {pid} was stopped too");
}

#[test]
fn run_test_cmd_refuses_what_it_cannot_run() {
    let p = Project::new(None);
    // A PATH with bash and nothing else: no docker, no podman.
    let bin = tempfile::tempdir().unwrap();
    let bash = which("bash");
    std::os::unix::fs::symlink(&bash, bin.path().join("bash")).unwrap();
    let path = bin.path().display().to_string();
    let out = p.run_test_cmd(&format!("{HASH}:ISOLATE=1 echo inside"), &[("PATH", &path)]);
    assert_eq!(out.code, 125);
    assert_eq!(out.stdout, "FAILED: echo inside (0s) (code: 125)\n");
    assert_eq!(
        out.stderr,
        "run_test_cmd: ISOLATE=1 needs a container engine (docker or podman on PATH) and none \
         was found; not running: echo inside\n"
    );
    let out = p.run_test_cmd(&format!("{HASH}:CPUS=0 echo x"), &[]);
    assert_eq!(out.code, 125);
    assert!(
        out.stderr.starts_with("run_test_cmd: invalid CPUS '0'"),
        "{}",
        out.stderr
    );
}

fn which(program: &str) -> PathBuf {
    let out = Command::new("bash")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The object of a line in the directory store, if any.
fn entry(p: &Project, line: &str) -> Option<String> {
    let key = ci3::hash::hash_str_orig(line.as_bytes());
    fs::read_to_string(p.store_dir.path().join(".ci3/tests").join(key)).ok()
}

#[test]
fn run_test_cmd_records_passes_in_ci_only() {
    let p = Project::new(None);
    let line = format!("{HASH}:CPUS=1 true");
    assert_eq!(p.run_test_cmd(&line, &[]).code, 0);
    assert_eq!(entry(&p, &line), None, "not at CI=0");
    let failing = format!("{HASH} false");
    assert_eq!(p.run_test_cmd(&failing, &[("CI", "1")]).code, 1);
    assert_eq!(entry(&p, &failing), None, "not a failure");
    let sentinel = "disabled-cache true";
    assert_eq!(p.run_test_cmd(sentinel, &[("CI", "1")]).code, 0);
    assert_eq!(entry(&p, sentinel), None, "not with the sentinel");
    let out = p.run_test_cmd(
        &line,
        &[("CI", "1"), ("GITHUB_RUN_URL", "https://ci.example/run/9")],
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let body = entry(&p, &line).expect("recorded");
    let fields: Vec<&str> = body
        .lines()
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(fields, ["time", "host", "run"], "{body}");
    assert!(body.ends_with("run: https://ci.example/run/9\n"));
}

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

#[test]
fn parallelize_lists_slow_tests() {
    let p = Project::new(None);
    let input = format!("{HASH}:CPUS=1 sleep 1.2\n{HASH}:CPUS=1 true\n");
    let out = p.pipe("parallelize", &["2"], &[("CI3_SLOW_TEST", "1")], &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let warning = lines
        .iter()
        .position(|l| {
            *l == "WARNING: The following tests exceed 1 second runtimes. Break them up or rethink them."
        })
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(lines[warning + 1], "1: sleep 1.2");
    assert!(lines[warning + 2].starts_with("Completed run of 2 tests in "));
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
