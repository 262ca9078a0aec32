//! task_restore: outputs come back with their bytes and mode, and a tampered output is refused.

mod common;

use common::tasks::{app, task, Fixture, FILES};

#[test]
fn restore_brings_back_bytes_and_mode_and_refuses_a_tampered_output() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &task(
                    "build",
                    "[\"sh\", \"-c\", \"mkdir -p out/bin && printf '#!/bin/sh\\\\necho %s\\\\n' $(cat in.txt) > out/bin/calc && chmod 750 out/bin/calc\"]",
                    &format!("{FILES}[[Task.Output.File]]\npath = \"out/bin/calc\"\n"),
                ),
            ),
        ),
        ("calc/in.txt", "1"),
        (".gitignore", "out/\n"),
    ]);
    f.ok("task_run", &[]);
    let out = f.repo.join("calc/out/bin/calc");
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"#!/bin/sh"), "{bytes:?}");
    std::fs::remove_dir_all(f.repo.join("calc/out")).unwrap();
    // --force runs everything: nothing is left to restore, and saying both is a usage error.
    let r = f.run("task_run", &["--restore", "--force"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("'--restore' cannot be used with '--force'"),
        "{}",
        r.stderr
    );
    assert!(!out.exists(), "nothing ran");
    // task_run --restore: the Exist task is not run, its output comes back.
    let r = f.run("task_run", &["--restore"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("calc.build: restored out/bin/calc"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Running 0/1 task(s)"), "{}", r.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750);
    std::fs::remove_file(&out).unwrap();
    let r = f.run("task_restore", &["calc.build"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    // The stored output changed behind the record's back: refused, nothing placed.
    let stored = std::fs::read_dir(f.store.path().join(".ci3/runs/outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == bytes)
        .expect("the stored output");
    let mut perm = std::fs::metadata(&stored).unwrap().permissions();
    perm.set_mode(0o644);
    std::fs::set_permissions(&stored, perm).unwrap();
    std::fs::remove_file(&stored).unwrap();
    std::fs::write(&stored, b"#!/bin/sh\nrm -rf ~\n").unwrap();
    std::fs::remove_file(&out).unwrap();
    let r = f.run("task_restore", &["calc"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused, the stored output"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(f.repo.join("calc/out/bin"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "nothing staged is left behind");
    // Issue 17: `task_run --restore` runs a task whose restore fails, and says so; the run
    // replaces the tampered object.
    let r = f.run("task_run", &["--restore"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("running the task instead"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    // A task without a successful run for its inputs: nothing to restore.
    f.repo.write("calc/in.txt", "2");
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

/// Issue 17: `task_restore A B` reports every refused task and restores the rest (it stopped at
/// the first refusal and silently left the others).
#[test]
fn a_refused_task_is_named_and_the_others_are_restored() {
    let copy = |n: &str| {
        task(
            "build",
            &format!("[\"sh\", \"-c\", \"mkdir -p out && echo {n} > out/x\"]"),
            &format!("{FILES}[[Task.Output.File]]\npath = \"out/x\"\n"),
        )
    };
    let f = Fixture::committed(&[
        ("a/.app.toml", &app("a", &copy("from-a"))),
        ("a/in.txt", "a"),
        ("b/.app.toml", &app("b", &copy("from-b"))),
        ("b/in.txt", "b"),
        (".gitignore", "out/\n"),
    ]);
    f.ok("task_run", &[]);
    // a's stored output replaced behind its record's back.
    let stored = std::fs::read_dir(f.store.path().join(".ci3/runs/outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == b"from-a\n")
        .expect("a's stored output");
    std::fs::remove_file(&stored).unwrap();
    std::fs::write(&stored, b"forged\n").unwrap();
    for app in ["a", "b"] {
        std::fs::remove_dir_all(f.repo.join(app).join("out")).unwrap();
    }
    let r = f.run("task_restore", &["a.build", "b.build"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with("a.build: ") && l.contains("refused")),
        "{}",
        r.stderr
    );
    assert!(!f.repo.join("a/out/x").exists(), "nothing placed for a");
    assert_eq!(
        std::fs::read_to_string(f.repo.join("b/out/x")).unwrap(),
        "from-b\n",
        "{}",
        r.stderr
    );
}
