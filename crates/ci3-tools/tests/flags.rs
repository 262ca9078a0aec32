//! Success flags: cache_upload_flag, cache_download_flag and test_should_run.

mod common;

use common::cache::{s3_prefix, Env, Where};
use common::s3_var;

#[test]
fn flags_and_test_should_run() {
    let work = tempfile::tempdir().unwrap();
    let at = s3_prefix("flags");
    let ci0 = Env::new(at.clone(), work.path());
    let out = ci0.run("cache_upload_flag", &["tests-abc"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("Not uploading test flag tests-abc because CI=0."),
        "{}",
        out.stderr
    );
    assert_eq!(ci0.run("cache_download_flag", &["tests-abc"]).code, 1);

    let ci = Env::new(at.clone(), work.path())
        .var("CI", "1")
        .var("GITHUB_RUN_URL", "https://ci.example/run/7");
    assert_eq!(
        ci.run("test_should_run", &["tests-abc"]).code,
        0,
        "CI=1 and no flag: run"
    );
    assert_eq!(ci.run("cache_upload_flag", &["tests-abc"]).code, 0);
    assert_eq!(ci.run("cache_download_flag", &["tests-abc"]).code, 0);
    assert_eq!(
        ci.run("cache_upload_flag", &["tests-disabled-cache"]).code,
        0
    );
    assert_eq!(
        ci.run("cache_download_flag", &["tests-disabled-cache"])
            .code,
        1
    );
    // Several flags: all must be there (the deploy gate).
    assert_eq!(
        ci.run("cache_download_flag", &["tests-abc", "tests-def"])
            .code,
        1
    );
    assert_eq!(ci.run("cache_upload_flag", &["tests-def"]).code, 0);
    assert_eq!(
        ci.run("cache_download_flag", &["tests-abc", "tests-def"])
            .code,
        0
    );
    let no_cache = Env::new(at.clone(), work.path()).var("NO_CACHE", "1");
    assert_eq!(no_cache.run("cache_download_flag", &["tests-abc"]).code, 1);

    // The flag body records what passed.
    if let Where::S3(prefix) = &at {
        let s3 = ci3::store::S3Settings::at(
            &s3_var("CI3_S3_ENDPOINT"),
            &s3_var("CI3_S3_BUCKET"),
            prefix,
            &s3_var("AWS_ACCESS_KEY_ID"),
            &s3_var("AWS_SECRET_ACCESS_KEY"),
        );
        let store = ci3::store::S3Store::new(s3, std::sync::Arc::new(ci3::report::Silent)).unwrap();
        let mut body = Vec::new();
        use ci3::store::Store;
        assert!(store.get("tests-abc.flag", &mut body).unwrap());
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("run: https://ci.example/run/7"), "{body}");
    }

    // test_should_run skips only with CI=1 and the flag there; TEST is not read (a local run
    // runs every test).
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, i32, &'a str);
    let matrix: &[Case] = &[
        (&[], "tests-new", 0, "CI=0 runs every test"),
        (&[], "tests-abc", 0, "CI=0 runs every test"),
        (&[("TEST", "0")], "tests-abc", 0, "CI=0 runs every test"),
        (
            &[("TEST", "0"), ("CI", "1")],
            "tests-new",
            0,
            "no success flag",
        ),
        (&[("TEST", "1")], "tests-new", 0, "CI=0 runs every test"),
        (&[("CI", "1")], "tests-new", 0, "no success flag"),
        (&[("CI", "1")], "tests-abc", 1, "it already passed"),
        (
            &[("CI", "1"), ("TEST", "1")],
            "tests-abc",
            1,
            "it already passed",
        ),
        (
            &[("CI", "1"), ("NO_CACHE", "1")],
            "tests-abc",
            0,
            "no success flag",
        ),
    ];
    for (vars, name, expected, why) in matrix {
        let mut env = Env::new(at.clone(), work.path());
        for (k, v) in *vars {
            env = env.var(k, v);
        }
        let out = env.run("test_should_run", &[name]);
        assert_eq!(out.code, *expected, "{vars:?} {name}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{vars:?} {name}");
        assert!(out.stderr.contains(why), "{vars:?} {name}: {}", out.stderr);
    }
}
