//! The task runner under faults and forgers (issue 17): an object planted under the name a
//! build's output will take, outputs and records gone from the store, restores killed or
//! signalled midway.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ci3::digest::Digest;
use common::tasks::{calc, Fixture};

/// The store object holding output bytes with this digest.
fn object(f: &Fixture, digest: &Digest) -> PathBuf {
    f.store
        .path()
        .join(".ci3/runs/outputs")
        .join(digest.to_hex())
}

/// The only run record in the store, parsed.
fn record(f: &Fixture) -> serde_json::Value {
    let runs = f.runs();
    let last = runs.last().expect("a run record");
    serde_json::from_slice(&std::fs::read(last).unwrap()).unwrap()
}

/// Removes a store object, which the directory store may have made read-only.
fn remove_object(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    std::fs::remove_file(path).unwrap();
}

/// The names of the files a restore staged in `dir`.
fn staged_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".ci3-restore-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_planted_object_is_replaced_and_a_fresh_clone_restores_the_right_bytes() {
    let f = calc();
    let digest = Digest::of(b"1");
    let planted = object(&f, &digest);
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, b"#!/bin/sh\nrm -rf ~\n").unwrap();

    let r = f.run("task_run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("replacing"), "{}", r.stderr);
    // The record's digest is the digest of the bytes the store holds under its name.
    let rec = record(&f);
    assert_eq!(rec["outputs"][0]["digest"], digest.prefixed().as_str());
    assert_eq!(rec["outputs"][0]["size"], 1);
    assert_eq!(Digest::of(&std::fs::read(&planted).unwrap()), digest);

    // A fresh clone restores what the build made, not what was planted.
    let clone = tempfile::tempdir().unwrap();
    let dest = clone.path().join("c");
    let src = f.repo.path().to_str().unwrap();
    f.repo.git(&["clone", "-q", src, dest.to_str().unwrap()]);
    let r = common::run(&mut f.cmd_in(&dest, "task_run", &["--restore"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Running 0/1 task(s)"), "{}", r.stderr);
    assert_eq!(std::fs::read(dest.join("calc/out/x")).unwrap(), b"1");
}

#[test]
fn a_normal_run_stores_its_output_under_the_digest_it_records() {
    let f = calc();
    f.ok("task_run", &[]);
    let rec = record(&f);
    let recorded = Digest::parse_prefixed(rec["outputs"][0]["digest"].as_str().unwrap()).unwrap();
    let stored = std::fs::read(object(&f, &recorded)).unwrap();
    assert_eq!(Digest::of(&stored), recorded);
    assert_eq!(stored, std::fs::read(f.repo.join("calc/out/x")).unwrap());
}

#[test]
fn a_run_whose_output_or_record_is_gone_is_reported_and_rebuilt_by_restore() {
    let f = calc();
    f.ok("task_run", &[]);
    assert_eq!(f.run("task_verify", &["--check-outputs"]).code, 0);
    remove_object(&object(&f, &Digest::of(b"1")));
    std::fs::remove_dir_all(f.repo.join("calc/out")).unwrap();

    // Status is by names, as the original's: still Exist.
    assert_eq!(f.status(&[]), ["calc.build,Exist"]);
    let v = f.run("task_verify", &["--check-outputs"]);
    assert_eq!(v.code, 2, "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("calc.build: Issues found"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout
            .contains("output file:out/x is gone from the store"),
        "{}",
        v.stdout
    );
    // Without the flag, only reproducibility is checked, as before.
    assert_eq!(f.run("task_verify", &[]).code, 0);

    let r = f.run("task_run", &["--restore"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let said: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("running the task instead"))
        .collect();
    assert_eq!(said.len(), 1, "{}", r.stderr);
    assert!(said[0].contains("missing"), "{}", said[0]);
    assert!(r.stderr.contains("Running 1/1 task(s)"), "{}", r.stderr);
    assert_eq!(std::fs::read(f.repo.join("calc/out/x")).unwrap(), b"1");
    // The rebuild stored the bytes again: the older run can be restored as well.
    assert_eq!(f.run("task_verify", &["--check-outputs"]).code, 0);

    // A record lost while its names remain: the same.
    let newest = f.runs().pop().unwrap();
    std::fs::remove_file(&newest).unwrap();
    assert_eq!(f.status(&[]), ["calc.build,Exist"]);
    let v = f.run("task_verify", &["--check-outputs"]);
    assert_eq!(v.code, 2, "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("its record is gone from the store"),
        "{}",
        v.stdout
    );
    std::fs::remove_dir_all(f.repo.join("calc/out")).unwrap();
    let r = f.run("task_run", &["--restore"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("running the task instead"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(f.repo.join("calc/out/x")).unwrap(), b"1");
}

#[test]
fn what_a_killed_restore_staged_is_swept_by_the_next_one() {
    let f = calc();
    f.ok("task_run", &[]);
    let out = f.repo.join("calc/out");
    std::fs::remove_file(out.join("x")).unwrap();
    // Above any pid_max: its owner is dead, whatever runs on this machine.
    let debris = out.join(".ci3-restore-4194305-1234-x");
    std::fs::write(&debris, vec![0u8; 4096]).unwrap();
    // A foreign name in the same directory is not ours to remove.
    let foreign = out.join(".ci3-restore-notapid");
    std::fs::write(&foreign, b"?").unwrap();
    f.ok("task_restore", &[]);
    assert!(!debris.exists(), "swept");
    assert!(foreign.exists());
    assert_eq!(std::fs::read(out.join("x")).unwrap(), b"1");

    // task_run --restore sweeps too, even when the output is already in place.
    std::fs::write(&debris, b"debris").unwrap();
    let r = f.run("task_run", &["--restore"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!debris.exists(), "swept");
}

#[test]
fn a_signalled_restore_removes_what_it_staged() {
    for (tool, args) in [("task_restore", vec![]), ("task_run", vec!["--restore"])] {
        let f = calc();
        f.ok("task_run", &[]);
        let out = f.repo.join("calc/out");
        std::fs::remove_file(out.join("x")).unwrap();
        // The stored output becomes a FIFO: the restore copies what this test writes into it,
        // and waits for more, until the signal has surely arrived.
        let fifo = object(&f, &Digest::of(b"1"));
        remove_object(&fifo);
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let mut child = f
            .cmd_in(f.repo.path(), tool, &args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut writer = loop {
            use std::os::unix::fs::OpenOptionsExt;
            // O_NONBLOCK: opening fails until the restore has opened the FIFO to read it.
            let open = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(0o4000)
                .open(&fifo);
            if let Ok(w) = open {
                break w;
            }
            assert!(child.try_wait().unwrap().is_none(), "{tool} ended early");
            assert!(Instant::now() < deadline, "{tool} never read the object");
            std::thread::sleep(Duration::from_millis(10));
        };
        writer.write_all(b"partial").unwrap();
        assert_eq!(staged_in(&out).len(), 1, "{tool} stages beside the output");
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        // Each write after the signal landed stops the copy; until then the bytes pass.
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "{tool} did not stop");
            let _ = writer.write(b"more");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(143), "{tool}: {stderr}");
        assert!(staged_in(&out).is_empty(), "{tool}: {:?}", staged_in(&out));
        assert!(!out.join("x").exists(), "{tool}: nothing placed");
    }
}
