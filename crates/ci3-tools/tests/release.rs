//! The example monorepo in the original's bootstrap.sh idioms (keys composed from a dependency's
//! key, the sentinel through nesting, directory arguments, the test lines) and the release
//! helpers scripts call: dist_tag, do_or_dryrun, memsuspend_limit, github_group and
//! github_endgroup, npm_install_deps, and retry with RETRY_DISABLED.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::exe::exe;
use common::{command, hash_object, run, toolbox, Output, Repo};

const PLATFORM: &str = "test-platform";

fn top() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// What a developer's shell or a CI runner may set that the scripts read.
const SCRIPT_VARS: &[&str] = &[
    "REF_NAME",
    "GITHUB_REF",
    "GITHUB_HEAD_REF",
    "GITHUB_ACTIONS",
    "GITHUB_LOG",
    "CI_FULL",
    "COMMIT_HASH",
    "CURRENT_VERSION",
    "DENOISE",
    "NO_CD",
    "BUILD_SYSTEM_DEBUG",
    "DIST_TAG",
    "DRY_RUN",
    "RELEASE_TEST",
    "MEMSUSPEND",
    "RETRY_DISABLED",
    "RETRY_SLEEP",
];

fn script_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = command(program);
    for var in SCRIPT_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// `hash_str` of the words, as the tool computes it: 16 hex chars of the blob id of the words
/// joined by spaces, with a newline.
fn hash_str(words: &[&str]) -> String {
    hash_object(format!("{}\n", words.join(" ")).as_bytes())[..16].to_string()
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// examples/bootstrap-monorepo committed in a fresh repository that vendors the toolbox as
/// `ci3/` (a symlink, as the demo does).
fn example() -> Repo {
    let r = Repo::new();
    copy_tree(&top().join("examples/bootstrap-monorepo"), r.path());
    std::os::unix::fs::symlink(toolbox(), r.join("ci3")).unwrap();
    r.commit_all("example");
    r
}

/// `PROJECT/bootstrap.sh ARGS` (`.` for the root's), run from the repository root.
fn bootstrap(r: &Repo, project: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = script_command(r.join(project).join("bootstrap.sh"));
    cmd.args(args)
        .current_dir(r.path())
        .env("PLATFORM_TAG", PLATFORM)
        .env(
            "CI3_STORE",
            format!("file://{}", r.join(".store").display()),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn hash_of(r: &Repo, project: &str, env: &[(&str, &str)]) -> String {
    let out = bootstrap(r, project, &["hash"], env);
    assert_eq!(out.code, 0, "{project} hash: {}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{project}: {:?}", out.stdout);
    out.line().to_string()
}

/// The non-empty lines of a pattern file of the example.
fn patterns(r: &Repo, file: &str) -> Vec<String> {
    std::fs::read_to_string(r.join(file))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn refs(lines: &[String]) -> Vec<&str> {
    lines.iter().map(String::as_str).collect()
}

#[test]
fn project_hashes_are_composed_from_patterns_and_the_dependencys_hash() {
    let r = example();
    let libgreet = r.reference_key(
        "HEAD",
        &refs(&patterns(&r, "libgreet/.rebuild_patterns")),
        PLATFORM,
    );
    assert_eq!(hash_of(&r, "libgreet", &[]), libgreet);

    // app: its patterns plus the directory argument ../assets (the pattern `assets`).
    let mut app_patterns = patterns(&r, "app/.rebuild_patterns");
    app_patterns.push("assets".into());
    let app_content = r.reference_key("HEAD", &refs(&app_patterns), PLATFORM);
    let app = hash_str(&[&libgreet, &app_content]);
    assert_eq!(hash_of(&r, "app", &[]), app);

    assert_eq!(hash_of(&r, ".", &[]), hash_str(&[&libgreet, &app]));

    // The dependency's key is part of app's: a change to libgreet changes both.
    r.write("libgreet/src/greet.c", "/* changed */\n");
    r.commit_all("change libgreet");
    let libgreet2 = hash_of(&r, "libgreet", &[]);
    assert_ne!(libgreet2, libgreet);
    assert_eq!(
        hash_of(&r, "app", &[]),
        hash_str(&[&libgreet2, &app_content])
    );
    // A change to assets/ changes app's key only.
    r.write("assets/banner.txt", "== another banner ==\n");
    r.commit_all("change assets");
    assert_eq!(hash_of(&r, "libgreet", &[]), libgreet2);
    let mut app_now = r.reference_key("HEAD", &refs(&app_patterns), PLATFORM);
    assert_ne!(app_now, app_content);
    app_now = hash_str(&[&libgreet2, &app_now]);
    assert_eq!(hash_of(&r, "app", &[]), app_now);
}

#[test]
fn an_edited_input_gives_the_sentinel_through_every_parent_at_ci_0_and_1() {
    let r = example();
    let clean_libgreet = hash_of(&r, "libgreet", &[]);
    r.write("libgreet/src/greet.c", "/* edited, not committed */\n");
    for ci in ["0", "1"] {
        let env = [("CI", ci)];
        for project in ["libgreet", "app", "."] {
            let out = bootstrap(&r, project, &["hash"], &env);
            assert_eq!(out.code, 0, "CI={ci} {project}: {}", out.stderr);
            assert_eq!(out.stdout, "disabled-cache\n", "CI={ci} {project}");
        }
        let out = run(script_command(exe("cache_content_hash"))
            .current_dir(r.join("libgreet"))
            .env("CI", ci)
            .arg(".rebuild_patterns"));
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "disabled-cache\n"),
            "CI={ci}"
        );
        let warning = "WARNING: Noticed changes to rebuild patterns: libgreet/src/greet.c\n";
        if ci == "1" {
            assert_eq!(out.stderr, warning);
        } else {
            assert!(
                out.stderr
                    .starts_with("Caching disabled: uncommitted changes")
                    && out.stderr.contains("libgreet/src/greet.c"),
                "{}",
                out.stderr
            );
        }
    }
    // An untracked file under assets/ disables app's key, not libgreet's.
    r.git(&["checkout", "--", "libgreet"]);
    r.write("assets/new.txt", "untracked\n");
    assert_eq!(hash_of(&r, "libgreet", &[]), clean_libgreet);
    assert_eq!(hash_of(&r, "app", &[("CI", "1")]), "disabled-cache");
}

#[test]
fn directory_arguments_cover_the_other_directory() {
    let r = example();
    let cch = |args: &[&str]| {
        run(script_command(exe("cache_content_hash"))
            .current_dir(r.join("app"))
            .env("PLATFORM_TAG", PLATFORM)
            .args(args))
    };
    for (arg, pattern) in [("../assets", "assets"), ("../libgreet", "libgreet")] {
        let out = cch(&[arg]);
        assert_eq!(out.code, 0, "{arg}: {}", out.stderr);
        assert_eq!(out.line(), r.reference_key("HEAD", &[pattern], PLATFORM));
    }
    // A pattern file and a directory together are the union of their patterns.
    let mut both = patterns(&r, "app/.rebuild_patterns");
    both.push("assets".into());
    assert_eq!(
        cch(&[".rebuild_patterns", "../assets"]).line(),
        r.reference_key("HEAD", &refs(&both), PLATFORM)
    );
    let out = cch(&["../nope"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("cache_content_hash: Error: Directory '../nope' does not exist. "),
        "{}",
        out.stderr
    );
}

#[test]
fn build_test_cmds_and_test() {
    let r = example();
    let out = bootstrap(&r, ".", &[], &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("libgreet: built") && out.stdout.contains("app: built"));
    let again = bootstrap(&r, ".", &["build"], &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("libgreet: restored from cache")
            && again.stdout.contains("app: restored from cache"),
        "{}",
        again.stdout
    );

    let lines = bootstrap(&r, ".", &["test_cmds"], &[]);
    assert_eq!(lines.code, 0, "{}", lines.stderr);
    let expected = format!(
        "{} libgreet/test/greet_test.sh\n{} app/test/app_test.sh\n",
        hash_of(&r, "libgreet", &[]),
        hash_of(&r, "app", &[])
    );
    assert_eq!(lines.stdout, expected);
    // Each line's command passes when run from the root, as the test runner runs it.
    for line in lines.stdout.lines() {
        let (_, cmd) = line.split_once(' ').unwrap();
        let out = run(command("bash").arg("-c").arg(cmd).current_dir(r.path()));
        assert_eq!(out.code, 0, "{cmd}: {}{}", out.stdout, out.stderr);
    }

    let unknown = bootstrap(&r, "app", &["frobnicate"], &[]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stdout.contains("Unknown command: frobnicate"));

    // `test` pipes the lines through filter_test_cmds | parallelize; where the toolbox has no
    // filter_test_cmds yet, only this step is skipped.
    if top().join("bin/filter_test_cmds").exists() {
        let out = bootstrap(&r, ".", &["test"], &[]);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    } else {
        eprintln!("build_test_cmds_and_test: no bin/filter_test_cmds, `test` not run");
    }
}

/// A toolbox script run by path in a scratch directory with `env`.
fn helper(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    helper_in(dir.path(), name, args, env)
}

fn helper_in(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = script_command(toolbox().join(name));
    cmd.args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn dist_tag_is_the_prerelease_channel_or_latest() {
    for (ref_name, expected) in [
        ("5.0.0-nightly.20260415", "nightly\n"),
        ("v5.0.0-nightly.20260415", "nightly\n"),
        ("1.2.3", "latest\n"),
        ("v1.2.3+build.1", "latest\n"),
        ("2.0.0-rc.1", "rc\n"),
    ] {
        let out = helper("dist_tag", &[], &[("REF_NAME", ref_name)]);
        assert_eq!(out.code, 0, "{ref_name}: {}", out.stderr);
        assert_eq!(out.stdout, expected, "{ref_name}");
    }
    for bad in ["master", "1.2", "release/1.2.3"] {
        let out = helper("dist_tag", &[], &[("REF_NAME", bad)]);
        assert_eq!(out.code, 1, "{bad}");
        assert_eq!(out.stdout, "", "{bad}");
        assert_eq!(out.stderr, format!("{bad} is not a valid semver.\n"));
    }
    let forced = helper(
        "dist_tag",
        &[],
        &[("REF_NAME", "master"), ("DIST_TAG", "next")],
    );
    assert_eq!((forced.code, forced.stdout.as_str()), (0, "next\n"));
}

#[test]
fn do_or_dryrun_prints_under_dry_run_and_runs_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let dry = helper_in(
        dir.path(),
        "do_or_dryrun",
        &["touch", "ran"],
        &[("DRY_RUN", "1")],
    );
    assert_eq!((dry.code, dry.stdout.as_str()), (0, "DRY: touch ran\n"));
    assert!(!marker.exists(), "a dry run runs nothing");

    let real = helper_in(dir.path(), "do_or_dryrun", &["touch", "ran"], &[]);
    assert_eq!((real.code, real.stdout.as_str()), (0, ""));
    assert!(marker.exists());
    let status = helper_in(dir.path(), "do_or_dryrun", &["sh", "-c", "exit 7"], &[]);
    assert_eq!(status.code, 7, "the command's status passes through");
    // A rehearsal keeps real version tags from being pushed.
    let rehearsal = helper_in(
        dir.path(),
        "do_or_dryrun",
        &["git", "push", "origin", "v1.2.3"],
        &[("RELEASE_TEST", "1")],
    );
    assert_eq!(rehearsal.code, 0);
    assert!(rehearsal.stdout.starts_with("RELEASE_TEST: Skipping"));
}

#[test]
fn memsuspend_limit_is_a_quarter_of_the_ram_at_most_64g() {
    let set = helper("memsuspend_limit", &[], &[("MEMSUSPEND", "12G")]);
    assert_eq!((set.code, set.stdout.as_str()), (0, "12G\n"));

    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let gib = kib / 1024 / 1024;
    let expected = if gib < 256 { gib / 4 } else { 64 };
    let out = helper("memsuspend_limit", &[], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("{expected}G\n"));
}

#[test]
fn github_group_marks_groups_under_github_actions_only() {
    let gha = [("GITHUB_ACTIONS", "true")];
    let open = helper("github_group", &["build", "all"], &gha);
    assert_eq!(
        (open.code, open.stdout.as_str()),
        (0, "::group::build all\n")
    );
    let close = helper("github_endgroup", &[], &gha);
    assert_eq!((close.code, close.stdout.as_str()), (0, "::endgroup::\n"));

    let open = helper("github_group", &["build", "all"], &[]);
    assert_eq!(
        (open.code, open.stdout.as_str()),
        (0, "--- build all ---\n")
    );
    let close = helper("github_endgroup", &[], &[]);
    assert_eq!((close.code, close.stdout.as_str()), (0, ""));
    let not_gha = helper("github_group", &["x"], &[("GITHUB_ACTIONS", "false")]);
    assert_eq!(not_gha.stdout, "--- x ---\n");
}

#[test]
fn retry_disabled_runs_once_with_the_commands_status() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    let cmd = format!("echo x >> '{}'; exit 3", count.display());
    let retry = |env: &[(&str, &str)]| {
        let mut c = script_command(exe("retry"));
        c.arg(&cmd).env("RETRY_SLEEP", "0");
        for (k, v) in env {
            c.env(k, v);
        }
        run(&mut c)
    };
    let attempts = || std::fs::read_to_string(&count).unwrap().lines().count();

    let once = retry(&[("RETRY_DISABLED", "1")]);
    assert_eq!(once.code, 3, "the command's own status: {}", once.stderr);
    assert_eq!(attempts(), 1);
    assert!(!once.stderr.contains("Failed after"), "{}", once.stderr);

    std::fs::remove_file(&count).unwrap();
    let thrice = retry(&[]);
    assert_eq!(thrice.code, 1);
    assert_eq!(attempts(), 3);
    assert!(thrice.stderr.contains("Failed after 3 attempts"));

    // An empty value is unset, as in the original's [ -n "$RETRY_DISABLED" ].
    std::fs::remove_file(&count).unwrap();
    assert_eq!(retry(&[("RETRY_DISABLED", "")]).code, 1);
    assert_eq!(attempts(), 3);
}

#[test]
fn npm_install_deps_restores_node_modules_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-bin");
    std::fs::create_dir_all(&fake).unwrap();
    let calls = dir.path().join("yarn-calls");
    // A yarn that records its arguments and "installs" one package.
    std::fs::write(
        fake.join("yarn"),
        format!(
            "#!/usr/bin/env bash\necho \"$PWD $*\" >> '{}'\nmkdir -p node_modules/pkg\necho installed > node_modules/pkg/index.js\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(fake.join("yarn"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let store = format!("file://{}", dir.path().join("store").display());
    let project = |name: &str, lock: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("package.json"), "{\"name\":\"p\"}\n").unwrap();
        std::fs::write(p.join("yarn.lock"), lock).unwrap();
        p
    };
    let install = |p: &Path| {
        helper_in(
            p,
            "npm_install_deps",
            &[],
            &[("PATH", path.as_str()), ("CI3_STORE", store.as_str())],
        )
    };
    let yarn_calls = || {
        std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };

    let first = project("first", "# lock 1\n");
    let out = install(&first);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        yarn_calls(),
        [format!("{} install --immutable", first.display())]
    );
    assert!(first.join("node_modules/pkg/index.js").exists());

    // Same inputs elsewhere: node_modules comes from the cache, yarn is not run.
    let second = project("second", "# lock 1\n");
    let out = install(&second);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(yarn_calls().len(), 1, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(second.join("node_modules/pkg/index.js")).unwrap(),
        "installed\n"
    );

    // Another lock file is another artifact.
    let third = project("third", "# lock 2\n");
    assert_eq!(install(&third).code, 0);
    assert_eq!(yarn_calls().len(), 2);

    let none = dir.path().join("none");
    std::fs::create_dir_all(&none).unwrap();
    let out = install(&none);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains(&format!("yarn.lock not found in {}.", none.display())),
        "{}",
        out.stderr
    );
}
