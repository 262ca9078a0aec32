//! Status through the graph on recorded outputs: in a fresh clone, where no upstream output is
//! on disk, a task whose upstream tasks are all Exist is evaluated on the outputs their
//! recorded runs produced, so it is Exist when nothing changed, without running or restoring.

mod common;

use common::tasks::{chain, Fixture, LIB};

fn status_in(f: &Fixture, dir: &std::path::Path) -> Vec<String> {
    let out =
        common::run(&mut f.cmd_in(dir, "task_status", &["-q", "--csv", "-f", "task-id,status"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().map(String::from).collect()
}

#[test]
fn a_fresh_clone_after_a_recorded_run_is_exist_without_running_anything() {
    let f = chain(LIB);
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let runs = f.runs().len();
    assert_eq!(runs, 3);

    let clone_dir = tempfile::tempdir().unwrap();
    let clone = clone_dir.path().join("clone");
    f.repo.git(&["clone", "-q", ".", clone.to_str().unwrap()]);
    assert!(!clone.join("lib/out").exists());
    assert_eq!(
        status_in(&f, &clone),
        ["app.build,Exist", "lib.build,Exist", "pkg.pack,Exist"]
    );
    // Nothing ran and nothing was restored.
    assert_eq!(f.runs().len(), runs);
    for d in ["lib/out", "app/out", "pkg/out"] {
        assert!(!clone.join(d).exists(), "{d}");
    }
    let out = common::run(&mut f.cmd_in(&clone, "task_run", &[]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(f.runs().len(), runs, "{}", out.stderr);

    // A changed upstream still makes everything downstream Pending.
    std::fs::write(clone.join("lib/src.txt"), "lib 2\n").unwrap();
    assert_eq!(
        status_in(&f, &clone),
        ["app.build,Pending", "lib.build,Pending", "pkg.pack,Pending"]
    );
}

#[test]
fn an_upstream_output_present_on_disk_is_read_as_it_is() {
    let f = chain(LIB);
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let clone_dir = tempfile::tempdir().unwrap();
    let clone = clone_dir.path().join("clone");
    f.repo.git(&["clone", "-q", ".", clone.to_str().unwrap()]);
    // A library output that differs from the recorded one: the app reads the file on disk, and
    // the package waits on the app.
    std::fs::create_dir_all(clone.join("lib/out")).unwrap();
    std::fs::write(clone.join("lib/out/lib.txt"), "hand made\n").unwrap();
    assert_eq!(
        status_in(&f, &clone),
        ["app.build,Pending", "lib.build,Exist", "pkg.pack,Pending"]
    );
}
