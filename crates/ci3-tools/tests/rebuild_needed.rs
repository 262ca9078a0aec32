//! rebuild_needed against the directory store and the local cache.

mod common;

use common::exe::exe;
use common::{command, run, Output};

fn rebuild_needed(name: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = command(exe("rebuild_needed"));
    cmd.arg(name);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn exit_codes_follow_the_store() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    std::fs::write(store.path().join("app-0123456789abcdef.tar.gz"), b"x").unwrap();
    std::fs::write(
        store.path().join("app-0123456789abcdef.tar.gz.longer"),
        b"x",
    )
    .unwrap();

    let hit = rebuild_needed("app-0123456789abcdef.tar.gz", &[("CI3_STORE", &url)]);
    assert_eq!((hit.code, hit.stdout.as_str()), (1, ""), "{}", hit.stderr);
    assert!(hit.stderr.contains("No rebuild needed"), "{}", hit.stderr);

    let miss = rebuild_needed("app-fedcba9876543210.tar.gz", &[("CI3_STORE", &url)]);
    assert_eq!((miss.code, miss.stdout.as_str()), (0, ""));
    assert!(miss.stderr.contains("not in directory"), "{}", miss.stderr);

    let prefix_only = rebuild_needed("app-0123456789abcdef.tar", &[("CI3_STORE", &url)]);
    assert_eq!(
        prefix_only.code, 0,
        "a prefix of a stored name is not a hit"
    );

    let sentinel = rebuild_needed("app-disabled-cache.tar.gz", &[("CI3_STORE", &url)]);
    assert_eq!(sentinel.code, 0);
    assert!(
        sentinel.stderr.contains("uncommitted"),
        "{}",
        sentinel.stderr
    );

    let no_cache = rebuild_needed(
        "app-0123456789abcdef.tar.gz",
        &[("CI3_STORE", &url), ("NO_CACHE", "1")],
    );
    assert_eq!(no_cache.code, 0);
    assert!(no_cache.stderr.contains("NO_CACHE=1"));
}

#[test]
fn local_cache_and_default_store() {
    let home = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("lib-1111.tar.zst"), b"x").unwrap();
    let xdg = home.path().to_str().unwrap();
    let local_dir = local.path().to_str().unwrap();

    let hit = rebuild_needed(
        "lib-1111.tar.zst",
        &[("XDG_CACHE_HOME", xdg), ("CACHE_LOCAL_DIR", local_dir)],
    );
    assert_eq!(hit.code, 1);
    assert!(hit.stderr.contains("local cache"), "{}", hit.stderr);

    let store = home.path().join("ci3/store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("lib-2222.tar.zst"), b"x").unwrap();
    let hit = rebuild_needed("lib-2222.tar.zst", &[("XDG_CACHE_HOME", xdg)]);
    assert_eq!(hit.code, 1, "{}", hit.stderr);
    assert!(
        hit.stderr.contains(store.to_str().unwrap()),
        "{}",
        hit.stderr
    );
}

#[test]
fn an_unusable_store_never_reads_as_cached() {
    for bad in ["file://relative/dir", "ftp://host/x"] {
        let out = rebuild_needed("app-1.tar.gz", &[("CI3_STORE", bad)]);
        assert_eq!(
            out.code, 0,
            "{bad}: a store that cannot be asked means rebuild"
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains("CI3_STORE"), "{}", out.stderr);
    }
    let out = rebuild_needed("../escape", &[("CI3_STORE", "file:///tmp")]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("invalid artifact name"),
        "{}",
        out.stderr
    );
}
