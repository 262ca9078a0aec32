//! The example script `examples/helpers/build.sh`, run as a user would, goes green.

mod common;

use common::exe::exe;
use common::helpers::{text, STORE_VARS};
use std::fs;
use std::path::Path;
use std::process::Stdio;

#[test]
fn example_helpers_script_runs_green() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/helpers/build.sh");
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = common::command("bash");
    for var in STORE_VARS {
        cmd.env_remove(var);
    }
    // From another directory, with a TMPDIR of its own to see that it leaves nothing behind.
    cmd.arg(&script)
        .current_dir(std::env::temp_dir())
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let hash = tool_output(exe("hash_str"), &["example", "helpers"]);
    for line in [
        "--- ci3 helpers tour ---".to_string(),
        format!("hash_str example helpers: {}", hash.trim()),
        "the command said this on stdout".into(),
        "dump_fail of a failing command exited 3; it printed on stderr:".into(),
        "  | command failed: echo 'output of a failing command'; exit 3 (exit: 3)".into(),
        "Executing: for i in $(seq 100); do echo line $i; done".into(),
        "retry succeeded after 3 attempts.".into(),
        "parallelize wrote a joblog of 4 jobs (number, exit, seconds, command):".into(),
        "spelled parallelise".into(),
        "build log of the helpers tour".into(),
        "Read back from the store (2 lines): build log of the helpers tour".into(),
        "Every helper ran.".into(),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{stdout}"
        );
    }
    assert!(stdout.contains("Completed run of 4 tests in "), "{stdout}");
    assert!(stdout.contains("done ("), "{stdout}");
    assert!(
        stderr.contains("Log helpers tour stored as .ci3/logs/"),
        "{stderr}"
    );
    let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

fn tool_output(program: &str, args: &[&str]) -> String {
    text(&common::command(program).args(args).output().unwrap().stdout)
}
