//! task_verify: runs with equal inputs and different outputs are found.

mod common;

use common::tasks::{app, ids, task, Fixture, FILES};

#[test]
fn task_verify_finds_equal_inputs_with_different_outputs() {
    let out_file = "[[Task.Output.File]]\npath = \"out\"\n";
    let f = Fixture::committed(&[
        (
            "a/.app.toml",
            &app(
                "a",
                &(task(
                    "same",
                    "[\"sh\", \"-c\", \"cat in.txt > out\"]",
                    &format!("{FILES}{out_file}"),
                ) + &task(
                    "stamp",
                    "[\"sh\", \"-c\", \"date +%s%N > out\"]",
                    &format!("{FILES}{out_file}"),
                )),
            ),
        ),
        ("a/in.txt", "1"),
        (".gitignore", "out\n"),
    ]);
    f.ok("task_run", &["a.same"]);
    f.ok("task_run", &["--force", "a.same"]);
    let ok = f.run("task_verify", &[]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("a.same: OK"), "{}", ok.stdout);
    assert!(ok.stdout.ends_with("No issues found\n"), "{}", ok.stdout);
    f.ok("task_run", &["a.stamp"]);
    f.ok("task_run", &["--force", "a.stamp"]);
    let runs = ids(&f, &["a.stamp"]);
    let bad = f.run("task_verify", &[]);
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
    assert!(
        bad.stdout.contains("a.stamp: Issues found"),
        "{}",
        bad.stdout
    );
    assert!(
        bad.stdout.contains(&format!(
            "- runs {} and {} have the same inputs",
            runs[1], runs[0]
        )),
        "{}",
        bad.stdout
    );
    assert!(
        bad.stdout.contains("output file:out differs"),
        "{}",
        bad.stdout
    );
    assert_eq!(f.run("task_verify", &["a.same"]).code, 0);
    let later = f.run("task_verify", &["--from", "2999.01.01"]);
    assert_eq!(later.code, 0, "{}", later.stdout);
    assert_eq!(f.run("task_verify", &["--from", "someday"]).code, 1);
}
