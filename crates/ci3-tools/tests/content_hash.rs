//! cache_content_hash, content_hash and hash_str against real git repositories, checked against
//! the original algorithm done with git plumbing.

mod common;

use std::path::Path;
use std::process::Command;

use common::exe::exe;
use common::{command, run, Output, Repo};

const PLATFORM: &str = "test-platform";

fn tool(name: &str, dir: &Path) -> Command {
    let mut cmd = command(exe(name));
    cmd.current_dir(dir).env("PLATFORM_TAG", PLATFORM);
    cmd
}

fn cch(dir: &Path, args: &[&str]) -> Output {
    run(tool("cache_content_hash", dir).args(args))
}

fn key(dir: &Path, args: &[&str]) -> String {
    let out = cch(dir, args);
    assert_eq!(out.code, 0, "cache_content_hash {args:?}: {}", out.stderr);
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "one line on stdout: {:?}",
        out.stdout
    );
    out.line().to_string()
}

fn strong(dir: &Path, args: &[&str]) -> String {
    let out = run(tool("content_hash", dir).args(args));
    assert_eq!(out.code, 0, "content_hash {args:?}: {}", out.stderr);
    out.line().to_string()
}

/// A monorepo with several projects, nested dirs, spaces, non-ASCII and newline names.
fn monorepo() -> Repo {
    let r = Repo::new();
    r.write(
        "barretenberg/cpp/.rebuild_patterns",
        "^barretenberg/cpp/.*\\.(cpp|hpp)$\n\n^barretenberg/cpp/CMakeLists\\.txt$\n",
    );
    r.write("barretenberg/cpp/CMakeLists.txt", "project(bb)\n");
    r.write("barretenberg/cpp/src/a.cpp", "int a;\n");
    r.write("barretenberg/cpp/src/nested/deep/b.hpp", "int b;\n");
    r.write(
        "barretenberg/cpp/src/nested/deep/notes.md",
        "not an input\n",
    );
    r.write("barretenberg/ts/index.ts", "export {}\n");
    r.write("noir/.rebuild_patterns", "^noir/\nCargo\\.lock\n");
    r.write("noir/src/main.rs", "fn main() {}\n");
    r.write("noir/noir-repo/Cargo.lock", "# lock\n");
    r.write("tools/Cargo.lock", "# other lock\n");
    r.write("yarn-project/.rebuild_patterns", "^yarn-project/\n");
    r.write("yarn-project/with space/file name.ts", "1\n");
    r.write("yarn-project/ünïcödé/名前.ts", "2\n");
    r.write("yarn-project/odd/line\nbreak.ts", "3\n");
    r.write("docs/readme.md", "docs\n");
    r.commit_all("init");
    r
}

#[test]
fn projects_match_the_plumbing_pipeline() {
    let r = monorepo();
    let cases: &[(&str, &[&str])] = &[
        (
            "barretenberg/cpp/.rebuild_patterns",
            &[
                "^barretenberg/cpp/.*\\.(cpp|hpp)$",
                "^barretenberg/cpp/CMakeLists\\.txt$",
            ],
        ),
        ("noir/.rebuild_patterns", &["^noir/", "Cargo\\.lock"]),
        ("yarn-project/.rebuild_patterns", &["^yarn-project/"]),
    ];
    let mut seen = std::collections::HashSet::new();
    for (file, patterns) in cases {
        let expected = r.reference_key("HEAD", patterns, PLATFORM);
        assert_eq!(key(r.path(), &[file]), expected, "{file}");
        assert!(seen.insert(expected), "projects must get distinct keys");
    }
}

#[test]
fn works_from_any_subdirectory_with_a_relative_pattern_file() {
    let r = monorepo();
    let from_root = key(r.path(), &["barretenberg/cpp/.rebuild_patterns"]);
    assert_eq!(
        key(&r.join("barretenberg/cpp"), &[".rebuild_patterns"]),
        from_root
    );
    assert_eq!(
        key(
            &r.join("barretenberg/cpp/src/nested"),
            &["../../.rebuild_patterns"]
        ),
        from_root
    );
}

#[test]
fn pattern_file_mixed_with_literal_regex() {
    let r = monorepo();
    let expected = r.reference_key("HEAD", &["^noir/", "Cargo\\.lock", "^docs/"], PLATFORM);
    assert_eq!(
        key(r.path(), &["noir/.rebuild_patterns", "^docs/"]),
        expected
    );
    // Literal regexes alone (an argument starting with `^`), with spaces and non-ASCII characters.
    let regexes = ["^yarn-project/ünïcödé/名前", "^yarn-project/with space/"];
    let expected = r.reference_key("HEAD", &regexes, PLATFORM);
    assert_eq!(key(r.path(), &regexes), expected);
}

#[test]
fn submodule_is_hashed_by_its_pinned_commit() {
    let sub = Repo::new();
    sub.write("lib.c", "int lib;\n");
    sub.commit_all("sub");
    let r = monorepo();
    r.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.path().to_str().unwrap(),
        "libs/sub",
    ]);
    r.commit_all("add submodule");
    let ls = r.git(&["ls-tree", "HEAD", "libs/sub"]);
    assert!(ls.starts_with("160000 commit"), "{ls}");
    let before = key(r.path(), &["^libs/"]);
    assert_eq!(before, r.reference_key("HEAD", &["^libs/"], PLATFORM));

    // A new pinned commit changes the key; a checked-out but unrecorded one is dirty.
    sub.write("lib.c", "int lib2;\n");
    sub.commit_all("sub2");
    r.git_in(&r.join("libs/sub"), &["pull", "-q", "origin", "main"]);
    assert_eq!(key(r.path(), &["^libs/"]), "disabled-cache");
    r.commit_all("bump submodule");
    let after = key(r.path(), &["^libs/"]);
    assert_ne!(after, before);
    assert_eq!(after, r.reference_key("HEAD", &["^libs/"], PLATFORM));

    // Modified tracked content inside the submodule makes it dirty, untracked files do not.
    r.write("libs/sub/untracked.txt", "x\n");
    assert_eq!(key(r.path(), &["^libs/"]), after);
    r.write("libs/sub/lib.c", "changed\n");
    assert_eq!(key(r.path(), &["^libs/"]), "disabled-cache");
}

#[test]
fn aztec_cache_commit_selects_the_tree() {
    let r = monorepo();
    let first = key(r.path(), &["^noir/"]);
    r.write("noir/src/main.rs", "fn main() { changed() }\n");
    r.commit_all("change noir");
    let second = key(r.path(), &["^noir/"]);
    assert_ne!(first, second);
    let pinned = run(tool("cache_content_hash", r.path())
        .env("AZTEC_CACHE_COMMIT", "HEAD~1")
        .arg("^noir/"));
    assert_eq!(pinned.code, 0, "{}", pinned.stderr);
    assert_eq!(pinned.line(), first);
    assert_eq!(first, r.reference_key("HEAD~1", &["^noir/"], PLATFORM));
    // Only HEAD is checked for dirty files: a pinned commit ignores the work tree.
    r.write("noir/src/main.rs", "uncommitted\n");
    let pinned = run(tool("cache_content_hash", r.path())
        .env("AZTEC_CACHE_COMMIT", "HEAD~1")
        .arg("^noir/"));
    assert_eq!(pinned.line(), first);
}

#[test]
fn repo_path_hashes_a_nested_repository() {
    let r = monorepo();
    r.write(".gitignore", "/vendor/\n");
    r.commit_all("ignore vendor");
    let inner_dir = r.join("vendor/inner");
    std::fs::create_dir_all(&inner_dir).unwrap();
    let inner = Repo {
        dir: tempfile::TempDir::new_in(&inner_dir).unwrap(),
    };
    for args in [
        &["init", "-q"][..],
        &["config", "user.name", "t"],
        &["config", "user.email", "t@t"],
    ] {
        inner.git(args);
    }
    inner.write("src/lib.rs", "pub fn f() {}\n");
    inner.write("README", "inner\n");
    inner.commit_all("inner");
    let rel = inner
        .path()
        .strip_prefix(r.path())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();

    let out = run(tool("cache_content_hash", r.path())
        .env("REPO_PATH", &rel)
        .arg("^src/"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.line(),
        inner.reference_key("HEAD", &["^src/"], PLATFORM)
    );
    // Without REPO_PATH the outer repository is hashed, where ^src/ matches nothing.
    let out = cch(r.path(), &["^src/"]);
    assert_eq!(out.code, 1);
    // Dirty files of the nested repository count.
    inner.write("src/lib.rs", "changed\n");
    let out = run(tool("cache_content_hash", r.path())
        .env("REPO_PATH", &rel)
        .arg("^src/"));
    assert_eq!(out.line(), "disabled-cache");
}

#[test]
fn dirty_staged_and_untracked_inputs_give_the_sentinel() {
    let r = monorepo();
    let clean = key(r.path(), &["^noir/"]);
    let sentinel_then_restore = |what: &str, make_dirty: &dyn Fn(), restore: &dyn Fn()| {
        make_dirty();
        assert_eq!(key(r.path(), &["^noir/"]), "disabled-cache", "{what}");
        // In CI too: the sentinel and exit 0, so a nested $(...) disables the cache.
        let ci = run(tool("cache_content_hash", r.path())
            .env("CI", "1")
            .arg("^noir/"));
        assert_eq!(ci.code, 0, "{what}: CI=1 gives the sentinel: {}", ci.stderr);
        assert_eq!(ci.stdout, "disabled-cache\n", "{what}");
        assert!(
            ci.stderr
                .starts_with("WARNING: Noticed changes to rebuild patterns: noir/"),
            "{what}: the original's warning names the paths: {}",
            ci.stderr
        );
        let ci = run(tool("cache_content_hash", r.path())
            .env("CI", "true")
            .arg("^noir/"));
        assert_eq!(
            (ci.code, ci.stdout.as_str()),
            (0, "disabled-cache\n"),
            "{what}: CI=true is CI mode too"
        );
        assert!(ci.stderr.starts_with("WARNING: Noticed changes"), "{what}");
        restore();
        assert_eq!(key(r.path(), &["^noir/"]), clean, "{what}: clean again");
    };
    sentinel_then_restore(
        "modified",
        &|| r.write("noir/src/main.rs", "edited\n"),
        &|| {
            r.git(&["checkout", "--", "noir/src/main.rs"]);
        },
    );
    sentinel_then_restore(
        "staged",
        &|| {
            r.write("noir/src/main.rs", "edited\n");
            r.git(&["add", "noir/src/main.rs"]);
        },
        &|| {
            r.git(&["reset", "-q", "--hard"]);
        },
    );
    sentinel_then_restore(
        "staged then reverted on disk",
        &|| {
            r.write("noir/src/main.rs", "edited\n");
            r.git(&["add", "noir/src/main.rs"]);
            r.write("noir/src/main.rs", "fn main() {}\n");
        },
        &|| {
            r.git(&["reset", "-q", "--hard"]);
        },
    );
    sentinel_then_restore(
        "untracked",
        &|| r.write("noir/src/new file.rs", "new\n"),
        &|| std::fs::remove_file(r.join("noir/src/new file.rs")).unwrap(),
    );
    sentinel_then_restore(
        "untracked in a new directory",
        &|| r.write("noir/brand/new/dir.rs", "new\n"),
        &|| std::fs::remove_dir_all(r.join("noir/brand")).unwrap(),
    );
    sentinel_then_restore(
        "deleted",
        &|| std::fs::remove_file(r.join("noir/src/main.rs")).unwrap(),
        &|| {
            r.git(&["checkout", "--", "noir/src/main.rs"]);
        },
    );
    sentinel_then_restore(
        "chmod",
        &|| set_executable(&r.join("noir/src/main.rs"), true),
        &|| set_executable(&r.join("noir/src/main.rs"), false),
    );
}

#[test]
fn ignored_and_unrelated_files_do_not_count_as_dirty() {
    let r = monorepo();
    r.write(".gitignore", "*.o\nbuild/\n");
    r.commit_all("ignore");
    let clean = key(r.path(), &["^noir/"]);
    r.write("noir/src/main.o", "object\n");
    r.write("noir/build/out.bin", "artifact\n");
    r.write("noir/.git-info-excluded", "x\n");
    std::fs::write(r.join(".git/info/exclude"), "/noir/.git-info-excluded\n").unwrap();
    r.write("docs/readme.md", "edited docs\n");
    r.write("docs/new.md", "untracked docs\n");
    assert_eq!(key(r.path(), &["^noir/"]), clean);
    // Touching a file without changing it is not a change.
    let f = std::fs::File::options()
        .append(true)
        .open(r.join("noir/src/main.rs"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(key(r.path(), &["^noir/"]), clean);
}

#[test]
fn nothing_matched_fails_loudly() {
    let r = monorepo();
    let out = cch(r.path(), &["^no/such/dir/"]);
    assert_eq!(out.code, 1);
    // The sentinel too: `hash_str x $(cache_content_hash ...)` must not become a constant key.
    assert_eq!(out.stdout, "disabled-cache\n");
    assert!(
        out.stderr.contains("No files matched the rebuild patterns"),
        "{}",
        out.stderr
    );
    let out = cch(r.path(), &[]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
}

#[test]
fn a_mistyped_option_is_a_usage_error_but_an_existing_dash_file_is_a_pattern_file() {
    let r = monorepo();
    // cache_content_hash has no --worktree (content_hash has): refused as clap refuses one.
    let out = cch(r.path(), &["--worktree", "^noir/"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("error: unexpected argument '--worktree' found: no option of cache_content_hash, and no file or directory by that name\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Usage: cache_content_hash"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Directory"), "{}", out.stderr);
    assert_eq!(
        cch(r.path(), &["^noir/", "-x"]).code,
        2,
        "after a pattern too"
    );
    // Help after the patterns is still help.
    let help = cch(r.path(), &["^noir/", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    assert!(help.stdout.contains("Usage: cache_content_hash"));

    // An existing file wins, as in the original: `-x` holding patterns is a pattern file.
    r.write("-x", "^noir/\n");
    assert_eq!(key(r.path(), &["-x"]), key(r.path(), &["^noir/"]));
    // After `--` and for `-` alone, an argument is a name: the original's missing-directory error.
    for args in [&["--", "--nope"][..], &["-"][..]] {
        let out = cch(r.path(), args);
        let name = args.last().unwrap();
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!(
                "cache_content_hash: Error: Directory '{name}' does not exist. "
            )),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn content_hash_takes_options_after_the_patterns_and_refuses_unknown_ones() {
    let r = monorepo();
    assert_eq!(
        strong(r.path(), &["^noir/", "--worktree"]),
        strong(r.path(), &["--worktree", "^noir/"])
    );
    let out = run(tool("content_hash", r.path()).args(["^noir/", "--worktre"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("error: unexpected argument '--worktre' found"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_patterns_and_places_are_one_line_errors() {
    let r = monorepo();
    r.write("bad_patterns", "^ok/\n^broken(\n");
    let out = cch(r.path(), &["bad_patterns"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("bad_patterns:2") && out.stderr.contains("^broken("),
        "{}",
        out.stderr
    );

    let outside = tempfile::tempdir().unwrap();
    let out = cch(outside.path(), &["^a/"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("not inside a git work tree"),
        "{}",
        out.stderr
    );
}

#[test]
fn default_platform_tag_is_bash_ostype_and_machine() {
    let r = monorepo();
    let bash = run(command("bash").args(["-c", "echo \"$OSTYPE-$(uname -m)\""]));
    let platform = bash.line();
    let out = run(command(exe("cache_content_hash"))
        .current_dir(r.path())
        .arg("^noir/"));
    assert_eq!(out.line(), r.reference_key("HEAD", &["^noir/"], platform));
}

#[test]
fn hash_str_is_bit_exact() {
    let dir = std::env::temp_dir();
    assert_eq!(
        run(tool("hash_str", &dir).arg("abc")).stdout,
        "8baef1b4abc47817",
        "no trailing newline, as the original's `tr -d '\\n'`"
    );
    assert_eq!(
        run(tool("hash_str", &dir).args(["x", "disabled-cache-y"])).stdout,
        "disabled-cache\n"
    );
    let expected = &common::hash_object(b"a b  c\n")[..16];
    assert_eq!(
        run(tool("hash_str", &dir).args(["a", "b ", "c"])).line(),
        expected
    );
}

#[test]
fn content_hash_sees_renames_and_modes() {
    let r = monorepo();
    let (ci3_before, ours_before) = (key(r.path(), &["^noir/"]), strong(r.path(), &["^noir/"]));
    assert_eq!(ours_before.len(), 32);
    assert!(ours_before.chars().all(|c| c.is_ascii_hexdigit()));

    r.git(&["mv", "noir/src/main.rs", "noir/src/renamed.rs"]);
    r.commit_all("rename");
    let (ci3_renamed, ours_renamed) = (key(r.path(), &["^noir/"]), strong(r.path(), &["^noir/"]));
    assert_eq!(ci3_renamed, ci3_before, "the original key ignores renames");
    assert_ne!(ours_renamed, ours_before);

    set_executable(&r.join("noir/src/renamed.rs"), true);
    r.commit_all("chmod");
    assert_eq!(
        key(r.path(), &["^noir/"]),
        ci3_renamed,
        "the original key ignores modes"
    );
    assert_ne!(strong(r.path(), &["^noir/"]), ours_renamed);
}

#[test]
fn content_hash_worktree_equals_clean_key_once_edits_are_reverted() {
    let r = monorepo();
    let clean = strong(r.path(), &["^noir/"]);
    assert_eq!(strong(r.path(), &["--worktree", "^noir/"]), clean);

    r.write("noir/src/main.rs", "edited\n");
    r.write("noir/src/untracked.rs", "new\n");
    let edited = strong(r.path(), &["--worktree", "^noir/"]);
    assert_ne!(edited, clean);
    assert_eq!(strong(r.path(), &["^noir/"]), "disabled-cache");

    r.write("noir/src/main.rs", "fn main() {}\n");
    std::fs::remove_file(r.join("noir/src/untracked.rs")).unwrap();
    assert_eq!(strong(r.path(), &["--worktree", "^noir/"]), clean);

    // Staged, then reverted on disk: the files on disk are what counts.
    r.write("noir/src/main.rs", "staged\n");
    r.git(&["add", "-A"]);
    r.write("noir/src/main.rs", "fn main() {}\n");
    assert_eq!(strong(r.path(), &["--worktree", "^noir/"]), clean);
}

#[test]
fn content_hash_json_lists_the_entries() {
    let r = monorepo();
    let out =
        run(tool("content_hash", r.path()).args(["--json", "yarn-project/.rebuild_patterns"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["key"],
        strong(r.path(), &["yarn-project/.rebuild_patterns"])
    );
    assert_eq!(v["platform"], PLATFORM);
    let paths: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "yarn-project/.rebuild_patterns",
            "yarn-project/odd/line\nbreak.ts",
            "yarn-project/with space/file name.ts",
            "yarn-project/ünïcödé/名前.ts"
        ]
    );
    let first = &v["entries"][0];
    assert_eq!(first["mode"], "100644");
    assert_eq!(
        first["id"],
        r.git(&["rev-parse", "HEAD:yarn-project/.rebuild_patterns"])
            .trim()
    );
}

fn set_executable(path: &Path, on: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if on { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn index_versions_and_layouts_give_the_same_key() {
    let r = monorepo();
    let v2 = key(r.path(), &["yarn-project/.rebuild_patterns"]);
    for version in ["3", "4", "2"] {
        r.git(&["update-index", "--index-version", version]);
        assert_eq!(
            key(r.path(), &["yarn-project/.rebuild_patterns"]),
            v2,
            "index version {version}"
        );
        r.write("yarn-project/with space/file name.ts", "dirty\n");
        assert_eq!(
            key(r.path(), &["yarn-project/.rebuild_patterns"]),
            "disabled-cache",
            "index version {version}"
        );
        r.git(&["checkout", "--", "yarn-project"]);
    }
    // A path of 4095 bytes or more is stored with a 0xfff length marker. It cannot exist on
    // disk here (PATH_MAX), so it is added without a file and marked skip-worktree.
    let long = format!("yarn-project/{}/f.ts", vec!["d".repeat(250); 17].join("/"));
    let blob = common::hash_object(b"long\n");
    r.write("long-content", "long\n");
    r.git(&["hash-object", "-w", "long-content"]);
    std::fs::remove_file(r.join("long-content")).unwrap();
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{blob},{long}"),
    ]);
    r.git(&["update-index", "--skip-worktree", &long]);
    r.git(&["commit", "-q", "-m", "long path"]);
    assert!(long.len() > 0xfff);
    assert_eq!(
        key(r.path(), &["^yarn-project/"]),
        r.reference_key("HEAD", &["^yarn-project/"], PLATFORM)
    );

    r.git(&["update-index", "--split-index"]);
    let out = cch(r.path(), &["^yarn-project/"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("split index"), "{}", out.stderr);
}

#[test]
fn conflicts_and_intent_to_add_are_dirty() {
    let r = monorepo();
    r.git(&["checkout", "-q", "-b", "other"]);
    r.write("noir/src/main.rs", "other\n");
    r.commit_all("other");
    r.git(&["checkout", "-q", "main"]);
    r.write("noir/src/main.rs", "main\n");
    r.commit_all("main");
    let merge = run(command("git")
        .current_dir(r.path())
        .args(["merge", "-q", "other"]));
    assert_ne!(merge.code, 0, "the merge must conflict");
    assert_eq!(key(r.path(), &["^noir/"]), "disabled-cache");
    r.git(&["merge", "--abort"]);
    let clean = key(r.path(), &["^noir/"]);
    r.write("noir/src/added.rs", "new\n");
    r.git(&["add", "-N", "noir/src/added.rs"]);
    assert_eq!(key(r.path(), &["^noir/"]), "disabled-cache");
    // Unrelated intent-to-add entries leave the key alone (the cached tree is then not used).
    r.git(&["rm", "-q", "--cached", "noir/src/added.rs"]);
    std::fs::remove_file(r.join("noir/src/added.rs")).unwrap();
    r.write("docs/added.md", "new\n");
    r.git(&["add", "-N", "docs/added.md"]);
    assert_eq!(key(r.path(), &["^noir/"]), clean);
}
