//! Signed run records: with trusted keys, a task is `Exist` only through a record they signed
//! that names this very app, task, digest and result.

mod common;

use std::path::Path;

use common::tasks::{app, calc, exe, task, Fixture, FILES};
use common::{command, run};

/// A key pair made by `cache_keygen`: (private key file, public key line).
fn keygen(dir: &Path) -> (String, String) {
    let out = run(command(exe("cache_keygen")).arg(dir));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let public = std::fs::read_to_string(
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "pub"))
            .expect("a public key file"),
    )
    .unwrap();
    let secret = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_none_or(|e| e != "pub"))
        .expect("a private key file");
    (secret.display().to_string(), public.trim().to_string())
}

#[test]
fn an_unsigned_record_is_not_exist_when_keys_are_trusted_and_a_signed_one_is() {
    let mut f = calc();
    let keys = tempfile::tempdir().unwrap();
    let (secret, public) = keygen(&keys.path().join("k"));
    // Written without a key: to a reader that trusts only `public`, a forgery.
    f.ok("task_run", &[]);
    assert_eq!(f.status(&[]), ["calc.build,Exist"]);
    f.vars = vec![("CI3_TRUSTED_KEYS".into(), public.clone())];
    let out = f.run("task_status", &["-q", "--csv", "-f", "task-id,status"]);
    assert_eq!(out.stdout, "calc.build,Pending\n", "{}", out.stderr);
    assert!(out.stderr.contains("not trusted"), "{}", out.stderr);
    f.vars.push(("CI3_SIGNING_KEY".into(), secret));
    f.ok("task_run", &[]);
    let out = f.run("task_status", &["-q", "--csv", "-f", "task-id,status"]);
    assert_eq!(out.stdout, "calc.build,Exist\n", "{}", out.stderr);
}

/// Tasks of one app over the same inputs share their total digest: a success name copied from
/// one to the other points at a record signed for the other task, which must not count.
#[test]
fn a_success_name_copied_to_another_task_is_not_exist() {
    let out = "[[Task.Output.File]]\npath = \"out/x\"\n";
    let mut f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &format!(
                    "{}{}",
                    task(
                        "build",
                        "[\"sh\", \"-c\", \"mkdir -p out && cp in.txt out/x\"]",
                        &format!("{FILES}{out}")
                    ),
                    task("check", "[\"true\"]", FILES)
                ),
            ),
        ),
        ("calc/in.txt", "1"),
        (".gitignore", "out/\n"),
    ]);
    let keys = tempfile::tempdir().unwrap();
    let (secret, public) = keygen(&keys.path().join("k"));
    f.vars = vec![
        ("CI3_SIGNING_KEY".into(), secret),
        ("CI3_TRUSTED_KEYS".into(), public),
    ];
    f.ok("task_run", &["calc.check"]);
    assert_eq!(
        f.status(&[]),
        ["calc.build,Pending", "calc.check,Exist"],
        "one digest for both tasks, one run"
    );
    // The forger copies the check's success name under the build's prefix.
    let success = f.store.path().join(".ci3/runs/success");
    let forged = success.join("calc.build");
    std::fs::create_dir_all(&forged).unwrap();
    for e in std::fs::read_dir(success.join("calc.check")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), forged.join(e.file_name())).unwrap();
    }
    let status = f.run("task_status", &["-q", "--csv", "-f", "task-id,status"]);
    assert_eq!(
        status.stdout, "calc.build,Pending\ncalc.check,Exist\n",
        "{}",
        status.stderr
    );
    assert!(
        status.stderr.contains("does not match its name"),
        "{}",
        status.stderr
    );
    // And the build runs instead of being skipped.
    f.ok("task_run", &["calc.build"]);
    assert!(f.repo.path().join("calc/out/x").exists());
}
