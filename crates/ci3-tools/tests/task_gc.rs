//! task_gc: older runs deleted with the outputs only they stored.

mod common;

use common::tasks::{copying, ids, Fixture};

/// Every object of the directory store below `dir` (relative names, sorted).
fn stored(f: &Fixture, dir: &str) -> Vec<String> {
    let root = f.store.path().join(dir);
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                let rel = e.path().strip_prefix(&root).unwrap().display().to_string();
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// `task_gc --before` (baur's `cleanup db --task-runs-before`) deletes the older runs, their
/// names, and the outputs only they stored; an output a kept run also stored stays.
#[test]
fn task_gc_deletes_older_runs_and_the_outputs_only_they_stored() {
    let f = copying();
    f.ok("task_run", &[]);
    f.repo.write("a/in.txt", "2");
    f.ok("task_run", &[]);
    f.repo.write("a/in.txt", "1");
    f.ok("task_run", &["--force"]);
    let runs = ids(&f, &[]);
    assert_eq!(runs.len(), 3);
    let outputs = stored(&f, ".ci3/runs/outputs");
    assert_eq!(outputs.len(), 2, "two distinct outputs: {outputs:?}");
    let everything = stored(&f, ".ci3/runs");

    // A dry run counts and deletes nothing.
    let dry = f.run(
        "baur",
        &[
            "cleanup",
            "db",
            "--pretend",
            &format!("--task-runs-before={}", runs[0]),
        ],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.stdout, "Task Runs: 2\nOutputs:   1\n");
    assert_eq!(stored(&f, ".ci3/runs"), everything);

    let gc = f.run("task_gc", &["--before", &runs[0]]);
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert_eq!(gc.stdout, "Task Runs: 2\nOutputs:   1\n");
    assert!(gc.stderr.contains("1 run(s) kept"), "{}", gc.stderr);
    assert_eq!(ids(&f, &[]), [runs[0].clone()]);
    let left = stored(&f, ".ci3/runs");
    for old in &runs[1..] {
        assert!(
            !left.iter().any(|n| n.contains(old.as_str())),
            "{old} gone: {left:?}"
        );
    }
    assert!(left.contains(&format!("id/{}.json", runs[0])), "{left:?}");
    assert_eq!(
        left.iter().filter(|n| n.starts_with("outputs/")).count(),
        1,
        "the kept run's output stays: {left:?}"
    );
    assert_eq!(
        f.ok("task_status", &["-q", "--csv", "-f", "status"]),
        "Exist\n"
    );
    // Nothing older left: nothing to do.
    let again = f.run("task_gc", &["--before", &runs[0]]);
    assert_eq!(again.stdout, "Task Runs: 0\nOutputs:   0\n");
    let bad = f.run("task_gc", &["--before", "last week"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("last week: not a date"),
        "{}",
        bad.stderr
    );
}
