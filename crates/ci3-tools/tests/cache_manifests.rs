//! Manifests: `rebuild_needed --explain` names the inputs that changed, and a forged manifest
//! explains nothing to a checking reader.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::cache::{Env, Where};
use common::exe::exe;
use common::{command, run};

#[test]
fn manifests_explain_what_changed() {
    let repo = common::Repo::new();
    repo.write("proj/src/a.c", "a\n");
    repo.write("proj/src/b.c", "b\n");
    repo.write("proj/src/gone.c", "gone\n");
    repo.write("proj/run.sh", "run\n");
    repo.commit_all("v1");
    let store = tempfile::tempdir().unwrap();
    let cache_home = tempfile::tempdir().unwrap();
    let env = Env::new(Where::Dir(store.path().to_path_buf()), repo.path())
        .var("XDG_CACHE_HOME", cache_home.path().to_str().unwrap());
    let hash = |env: &Env| {
        let out = run(&mut env.cmd_any(exe("cache_content_hash"), &["^proj/"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.line().to_string()
    };
    let v1 = format!("proj-{}.tar.gz", hash(&env));
    assert_eq!(env.run("cache_upload", &[&v1, "proj/src"]).code, 0);
    let manifest = store.path().join(format!(".ci3/manifest/{v1}.json"));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(stored["patterns"], serde_json::json!(["^proj/"]));
    assert_eq!(stored["entries"].as_array().unwrap().len(), 4);

    repo.write("proj/src/b.c", "b changed\n");
    repo.write("proj/src/new.c", "new\n");
    std::fs::remove_file(repo.join("proj/src/gone.c")).unwrap();
    std::fs::set_permissions(
        repo.join("proj/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    repo.commit_all("v2");
    let v2 = format!("proj-{}.tar.gz", hash(&env));
    assert_ne!(v1, v2);

    let out = run(&mut env.cmd_any(exe("rebuild_needed"), &["--explain", &v2]));
    assert_eq!(out.code, 0, "rebuild needed: {}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains(&format!("Changed inputs since {v1}: 4")),
        "{}",
        out.stderr
    );
    for line in [
        "M proj/src/b.c",
        "+ proj/src/new.c",
        "- proj/src/gone.c",
        "T proj/run.sh (100644 -> 100755)",
    ] {
        assert!(
            out.stderr.lines().any(|l| l == line),
            "{line} in {}",
            out.stderr
        );
    }
    let out = run(&mut env.cmd_any(exe("content_hash"), &["--explain", &v1, "^proj/"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "T proj/run.sh (100644 -> 100755)\nM proj/src/b.c\n- proj/src/gone.c\n+ proj/src/new.c\n"
    );

    // Without a manifest there is nothing to compare with, and the tools say so.
    let out = run(&mut env.cmd_any(
        exe("content_hash"),
        &["--explain", "other-0123456789abcdef.tar.gz", "^proj/"],
    ));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no input manifest stored for other-0123456789abcdef.tar.gz"),
        "{}",
        out.stderr
    );
}

/// Stored manifests are signed; a reader with trusted keys is not sent after the wrong files by
/// one a writer without the key put in their place.
#[test]
fn a_forged_manifest_explains_nothing_to_a_checking_reader() {
    let repo = common::Repo::new();
    repo.write("proj/a.c", "a\n");
    repo.commit_all("v1");
    let store = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let keygen = run(command(exe("cache_keygen")).arg(keys.path()));
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    let at = || Where::Dir(store.path().to_path_buf());
    let writer_home = tempfile::tempdir().unwrap();
    let writer = Env::new(at(), repo.path())
        .var("XDG_CACHE_HOME", writer_home.path().to_str().unwrap())
        .var(
            "CI3_SIGNING_KEY",
            keys.path().join("ci3-signing.key").to_str().unwrap(),
        );
    let hash = run(&mut writer.cmd_any(exe("cache_content_hash"), &["^proj/"]));
    let v1 = format!("proj-{}.tar.gz", hash.line());
    assert_eq!(writer.run("cache_upload", &[&v1, "proj"]).code, 0);
    let manifest = store.path().join(format!(".ci3/manifest/{v1}.json"));
    let signed = std::fs::read_to_string(&manifest).unwrap();
    assert!(signed.contains("\nci3-signature:"), "{signed}");

    repo.write("proj/a.c", "a changed\n");
    repo.commit_all("v2");
    // Another machine: nothing remembered locally, only what the store holds.
    let reader_home = tempfile::tempdir().unwrap();
    let reader = Env::new(at(), repo.path())
        .var("XDG_CACHE_HOME", reader_home.path().to_str().unwrap())
        .var("CI3_TRUSTED_KEYS", keygen.line());
    let explain =
        |env: &Env| run(&mut env.cmd_any(exe("content_hash"), &["--explain", &v1, "^proj/"]));
    let out = explain(&reader);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "M proj/a.c\n"),
        "{}",
        out.stderr
    );

    let forged = signed.split("\nci3-signature:").next().unwrap();
    std::fs::write(&manifest, forged.replace("proj/a.c", "proj/innocent.c")).unwrap();
    let out = explain(&reader);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("untrusted (unsigned)"),
        "{}",
        out.stderr
    );
    let v2 = format!(
        "proj-{}.tar.gz",
        run(&mut reader.cmd_any(exe("cache_content_hash"), &["^proj/"])).line()
    );
    let out = run(&mut reader.cmd_any(exe("rebuild_needed"), &["--explain", &v2]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("No earlier build of this project with an input manifest"),
        "{}",
        out.stderr
    );
    // A reader that checks no keys still reads it, as before signing.
    let plain =
        Env::new(at(), repo.path()).var("XDG_CACHE_HOME", reader_home.path().to_str().unwrap());
    assert_eq!(explain(&plain).stdout, "+ proj/a.c\n- proj/innocent.c\n");
}
