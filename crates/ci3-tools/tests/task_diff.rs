//! task_diff: the inputs two runs or tasks differ in, and the arguments it refuses.

mod common;

use common::tasks::{calc, ids};

#[test]
fn task_diff_runs_tasks_and_argument_errors() {
    let f = calc();
    f.ok("task_run", &["--input-str", "main"]);
    // A task against its own last run: nothing changed.
    let same = f.run(
        "task_diff",
        &["--input-str", "main", "calc.build", "calc.build^"],
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(
        same.stdout.ends_with("the inputs are the same\n"),
        "{}",
        same.stdout
    );
    let without = f.run("task_diff", &["calc.build", "calc.build^"]);
    assert_eq!(without.code, 2, "{}", without.stderr);
    assert!(without.stdout.contains("string:main"), "{}", without.stdout);
    f.repo.write("calc/in.txt", "2");
    f.repo.commit_all("change");
    // After one change: one D row, the file, with both digests.
    let out = f.run(
        "task_diff",
        &["--csv", "--input-str", "main", "calc.build", "calc.build^"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let rows: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert_eq!(rows[0][..2], ["D", "calc/in.txt"]);
    assert!(rows[0][2].starts_with("blake3:") && rows[0][3].starts_with("blake3:"));
    assert_ne!(rows[0][2], rows[0][3]);
    f.ok("task_run", &["--input-str", "feature"]);
    let ids = ids(&f, &[]);
    // Two runs with different input strings and files.
    let out = f.run("task_diff", &[&ids[1], &ids[0]]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let states: Vec<(String, String)> = out
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[0].to_string(), w[1].to_string())
        })
        .collect();
    assert_eq!(
        states,
        [
            ("D".to_string(), "calc/in.txt".to_string()),
            ("+".to_string(), "string:feature".to_string()),
            ("-".to_string(), "string:main".to_string()),
        ],
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("\nthe inputs differ\n"),
        "{}",
        out.stdout
    );
    let q = f.run(
        "task_diff",
        &["-q", "--input-str", "feature", "calc.build", &ids[0]],
    );
    assert_eq!(
        (q.code, q.stdout.as_str()),
        (0, "the inputs are the same\n"),
        "{}",
        q.stderr
    );
    for (a, b, message) in [
        ("*.build", "calc.build", "invalid argument: \"*.build\""),
        ("calc.", "calc.build", "invalid argument: \"calc.\""),
        ("calc.build", ".build", "invalid argument: \".build\""),
        ("calc.*", "calc.build", "invalid argument: \"calc.*\""),
        (
            "calc.build^",
            "calc.build^",
            "calc.build^ and calc.build^ refer to the same task-run",
        ),
        (&ids[0], "calc.build^", "refer to the same task-run"),
        (
            "calc.build^^^",
            "calc.build",
            "run calc.build^^^ does not exist, only 2 task-run(s) exist(s)",
        ),
        ("calc.nope", "calc.build", "calc.nope: task not found"),
        (
            "20990101T000000000000-000000000000",
            "calc.build",
            "task-run 20990101T000000000000-000000000000 does not exist",
        ),
    ] {
        let out = f.run("task_diff", &[a, b]);
        assert_eq!(out.code, 1, "{a} {b}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{a} {b}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
}
