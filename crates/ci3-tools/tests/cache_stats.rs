//! cache_stats: hits, misses and the build time a hit spared, from the ledger.

mod common;

use common::cache::{make_tree, Env, Where};
use common::exe::exe;
use common::run;

/// The ledger behind `cache_stats`: a miss, the upload of the same name (a timed build), then a
/// hit, which spared that build's time.
#[test]
fn cache_stats_counts_hits_misses_and_the_build_a_hit_spared() {
    let work = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let env = Env::new(Where::Dir(store.path().to_path_buf()), work.path())
        .var("XDG_CACHE_HOME", work.path().join("xdg").to_str().unwrap());
    let stats = |args: &[&str]| {
        let out = run(&mut env.cmd_any(exe("cache_stats"), args));
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    let empty: serde_json::Value = serde_json::from_str(&stats(&["--json"])).unwrap();
    assert_eq!(empty["hit_rate"], serde_json::Value::Null);
    let name = "proj-0123456789abcdef.tar.gz";
    let other = "proj-fedcba9876543210.tar.gz";
    assert_eq!(env.run("cache_download", &[name, "out"]).code, 1);
    assert_eq!(env.run("cache_upload", &[name, "build"]).code, 0);
    assert_eq!(env.run("cache_download", &[name, "out"]).code, 0);
    assert_eq!(env.run("cache_upload", &[other, "build"]).code, 0);
    assert_eq!(env.run("cache_download", &[other, "out2"]).code, 0);
    let s: serde_json::Value = serde_json::from_str(&stats(&["--json"])).unwrap();
    assert_eq!(s["misses"], 1, "{s}");
    assert_eq!(s["hits_store"], 2, "{s}");
    assert_eq!(s["stored"], 2, "{s}");
    assert_eq!(
        s["builds"], 1,
        "only the upload after a miss is a build: {s}"
    );
    assert_eq!(s["hit_rate"], 2.0 * 100.0 / 3.0, "{s}");
    assert_eq!(
        s["hits_estimated"], 2,
        "both hits are of the project built: {s}"
    );
    assert_eq!(
        s["saved_ms"].as_u64().unwrap(),
        2 * s["build_ms"].as_u64().unwrap(),
        "{s}"
    );
    let text = stats(&[]);
    assert!(
        text.starts_with(
            "downloads:  3 (hits 2: 0 local cache, 2 store; misses 1), hit rate 66.7%\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("uploads:    2 stored, 0 local only, 0 failed\n"),
        "{text}"
    );
    let later: serde_json::Value =
        serde_json::from_str(&stats(&["--json", "--since", "2999-01-01"])).unwrap();
    assert_eq!(later["misses"], 0, "{later}");
}
