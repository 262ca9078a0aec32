//! `source ci3/source_bootstrap` as a project's `bootstrap.sh` uses it (sub-commands, the
//! ref-name variables, the ci/full/release modes, `clean`), and what `ci3/source` gives every
//! script besides the tools: `arch`, `os`, `hash_str_orig`, `get_num_cpus`, the colour
//! variables, the glob options and `BUILD_SYSTEM_DEBUG`.

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{command, hash_object, run, toolbox, Output, Repo};

fn bash_script(dir: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    common::bash_script(dir, script, env, BOOTSTRAP_VARS)
}

/// What source_bootstrap reads or sets: a developer's shell or a CI runner may have any of them.
const BOOTSTRAP_VARS: &[&str] = &[
    "REF_NAME",
    "GITHUB_REF",
    "GITHUB_HEAD_REF",
    "GITHUB_ACTIONS",
    "CI_FULL",
    "COMMIT_HASH",
    "CI_SCENARIO_TEST",
    "CURRENT_VERSION",
    "DENOISE",
    "NO_CD",
    "BUILD_SYSTEM_DEBUG",
    "FORCE_COLOR",
    "yellow",
    "blue",
    "green",
    "red",
    "purple",
    "bold",
    "reset",
];

/// The project script of these tests: a sub-command per function, as real scripts have.
/// `set -u` comes first so that the part of source_bootstrap before strict mode is covered too.
const PROJECT_SCRIPT: &str = r#"#!/usr/bin/env bash
set -u
source "$(git rev-parse --show-toplevel)/ci3/source_bootstrap"

# The variables as a child process sees them: exported or nothing.
function vars {
  bash -c 'for v in REF_NAME COMMIT_HASH CI_FULL CI_SCENARIO_TEST CURRENT_VERSION CI DENOISE NO_CACHE; do echo "$v=${!v-unset}"; done'
}
function hash { echo "hash $# [$*]"; }
function ci { vars; }
function full { vars; }
function release { echo "releasing $REF_NAME"; }

case "$cmd" in
  "") echo "no command, $# args, pwd $PWD" ;;
  *) default_cmd_handler "$@" ;;
esac
echo "after the handler"
"#;

/// A repository vendoring the toolbox as `ci3/` (a symlink, as the demo does) with the project
/// `proj/bootstrap.sh`, all committed on `main`.
fn project() -> Repo {
    let r = Repo::new();
    std::os::unix::fs::symlink(toolbox(), r.join("ci3")).unwrap();
    r.write("proj/bootstrap.sh", PROJECT_SCRIPT);
    r.write("proj/.gitignore", "build/\n");
    let script = r.join("proj/bootstrap.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    r.commit_all("init");
    r
}

/// `proj/bootstrap.sh ARGS...` run from the repository root, with `env` on top of a clean
/// environment.
fn bootstrap(r: &Repo, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(r.join("proj/bootstrap.sh"));
    cmd.args(args).current_dir(r.path());
    for var in BOOTSTRAP_VARS {
        cmd.env_remove(var);
    }
    cmd.env_remove("NO_CACHE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// The `NAME=VALUE` lines of the `vars` function.
fn vars_of(out: &Output) -> HashMap<String, String> {
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn var(r: &Repo, name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut argv = vec!["vars"];
    argv.extend_from_slice(args);
    vars_of(&bootstrap(r, &argv, env))[name].clone()
}

#[test]
fn unknown_subcommand_says_so_and_exits_1() {
    let r = project();
    let out = bootstrap(&r, &["x"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Issue 18: on stdout, as the original's `echo`; a parent script's `$(child/bootstrap.sh x)`
    // captures it into its hash, so the key only matches the original's this way.
    assert_eq!(out.stdout, "Unknown command: x\n", "{}", out.stderr);
}

#[test]
fn subcommand_dispatches_to_the_function_with_the_remaining_arguments() {
    let r = project();
    let out = bootstrap(&r, &["hash", "a", "b c"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "hash 2 [a b c]\nafter the handler\n");

    // No sub-command: `cmd` is empty, nothing is shifted, and the script runs in its own dir.
    let out = bootstrap(&r, &[], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = r.path().canonicalize().unwrap().join("proj");
    assert_eq!(
        out.stdout,
        format!(
            "no command, 0 args, pwd {}\nafter the handler\n",
            dir.display()
        )
    );
}

#[test]
fn sourcing_prints_nothing_on_stdout() {
    let r = project();
    r.write(
        "quiet/bootstrap.sh",
        "source \"$(git rev-parse --show-toplevel)/ci3/source_bootstrap\"\n",
    );
    let mut cmd = command("bash");
    cmd.arg(r.join("quiet/bootstrap.sh")).current_dir(r.path());
    for var in BOOTSTRAP_VARS {
        cmd.env_remove(var);
    }
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn release_off_a_release_tag_is_skipped_with_exit_0() {
    let r = project();
    let out = bootstrap(&r, &["release"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Not deploying main because it is not a release tag."),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stdout, "",
        "the script stops before its own release code"
    );

    let out = bootstrap(&r, &["release"], &[("GITHUB_REF", "refs/tags/v1.2.3")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "releasing v1.2.3\nafter the handler\n");
    assert!(!out.stderr.contains("Not deploying"), "{}", out.stderr);
}

#[test]
fn release_tags_are_semver_with_an_optional_v() {
    let r = project();
    let accepted = [
        "v1.2.3",
        "1.2.3",
        "0.0.0",
        "v10.20.30",
        "1.2.3-rc.1",
        "5.0.0-nightly.20260415",
        "1.0.0-alpha-a.b-c",
        "1.2.3+build.5",
        "1.2.3-0.beta+exp.sha.5114f85",
    ];
    let rejected = [
        "master",
        "1.2",
        "v1.2",
        "1.2.3.4",
        "v01.2.3",
        "1.02.3",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3+",
        "1.2.3-rc..1",
        "vv1.2.3",
        "V1.2.3",
        "x1.2.3",
        "1.2.3 ",
    ];
    for tag in accepted {
        let out = bootstrap(&r, &["release"], &[("REF_NAME", tag)]);
        assert_eq!(
            out.stdout,
            format!("releasing {tag}\nafter the handler\n"),
            "{tag} is a release tag; stderr: {}",
            out.stderr
        );
    }
    for tag in rejected {
        let out = bootstrap(&r, &["release"], &[("REF_NAME", tag)]);
        assert_eq!(out.code, 0);
        assert!(
            out.stderr.contains(&format!(
                "Not deploying {tag} because it is not a release tag."
            )),
            "{tag} is not a release tag; stdout {:?} stderr {}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn ref_name_from_github_variables_then_git() {
    let r = project();
    assert_eq!(
        var(&r, "REF_NAME", &[], &[("GITHUB_REF", "refs/tags/v1.2.3")]),
        "v1.2.3"
    );
    assert_eq!(
        var(
            &r,
            "REF_NAME",
            &[],
            &[("GITHUB_REF", "refs/heads/feature/x")]
        ),
        "feature/x"
    );
    assert_eq!(
        var(
            &r,
            "REF_NAME",
            &[],
            &[
                ("GITHUB_HEAD_REF", "pr-branch"),
                ("GITHUB_REF", "refs/pull/7/merge")
            ]
        ),
        "pr-branch",
        "a pull request's head branch wins over its merge ref"
    );
    assert_eq!(var(&r, "REF_NAME", &[], &[]), "main", "the current branch");
    assert_eq!(
        var(&r, "REF_NAME", &[], &[("REF_NAME", "preset")]),
        "preset"
    );
    assert_eq!(
        var(
            &r,
            "REF_NAME",
            &[],
            &[("GITHUB_REF", "refs/heads/release/wise-weasel")]
        ),
        "wise-weasel"
    );

    // A tag of the same name makes `--short` say heads/main.
    r.git(&["tag", "main"]);
    assert_eq!(var(&r, "REF_NAME", &[], &[]), "main");

    // Detached: an exact tag, else the commit id.
    r.git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    r.git(&["tag", "v2.0.0"]);
    r.git(&["checkout", "-q", "--detach", "v2.0.0"]);
    assert_eq!(var(&r, "REF_NAME", &[], &[]), "v2.0.0");
    r.git(&["commit", "-q", "--allow-empty", "-m", "three"]);
    let head = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    assert_eq!(var(&r, "REF_NAME", &[], &[]), head);
    assert_eq!(var(&r, "COMMIT_HASH", &[], &[]), head);
}

#[test]
fn ci_full_only_with_ci_on_master_or_a_release_tag() {
    let r = project();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("GITHUB_REF", "refs/heads/master")], "0"),
        (&[("GITHUB_REF", "refs/heads/master"), ("CI", "1")], "1"),
        (&[("GITHUB_REF", "refs/heads/master"), ("CI", "true")], "1"),
        (&[("GITHUB_REF", "refs/tags/v1.2.3"), ("CI", "1")], "1"),
        (&[("GITHUB_REF", "refs/tags/v1.2.3")], "0"),
        (&[("GITHUB_REF", "refs/tags/1.2.3-rc.1"), ("CI", "1")], "1"),
        (&[("GITHUB_REF", "refs/heads/feature"), ("CI", "1")], "0"),
        (&[("GITHUB_REF", "refs/tags/v1.2"), ("CI", "1")], "0"),
        (&[("CI", "1")], "0"),
        (
            &[("CI", "1"), ("CI_FULL", "0"), ("REF_NAME", "master")],
            "0",
        ),
        (&[("CI_FULL", "1")], "1"),
    ];
    for (env, expected) in cases {
        assert_eq!(var(&r, "CI_FULL", &[], env), *expected, "{env:?}");
    }
    // `./bootstrap.sh ci` on master is a full run; on the current branch `main` it is not.
    r.git(&["branch", "master"]);
    r.git(&["checkout", "-q", "master"]);
    let vars = vars_of(&bootstrap(&r, &["ci"], &[]));
    assert_eq!(vars["REF_NAME"], "master");
    assert_eq!(vars["CI_FULL"], "1");
    r.git(&["checkout", "-q", "main"]);
    assert_eq!(vars_of(&bootstrap(&r, &["ci"], &[]))["CI_FULL"], "0");
}

#[test]
fn ci_and_full_modes_export_their_variables() {
    let r = project();
    let vars = vars_of(&bootstrap(&r, &["ci"], &[]));
    assert_eq!(vars["CI"], "1");
    assert_eq!(vars["DENOISE"], "1");
    assert_eq!(vars["NO_CACHE"], "unset");
    let vars = vars_of(&bootstrap(&r, &["ci"], &[("DENOISE", "0")]));
    assert_eq!(vars["DENOISE"], "0", "an explicit DENOISE is kept");

    let vars = vars_of(&bootstrap(&r, &["full"], &[]));
    assert_eq!(vars["NO_CACHE"], "1");
    assert_eq!(vars["CI"], "0");
    assert_eq!(vars["DENOISE"], "unset");
    let vars = vars_of(&bootstrap(&r, &["full"], &[("NO_CACHE", "0")]));
    assert_eq!(vars["NO_CACHE"], "0");

    let vars = vars_of(&bootstrap(&r, &["vars"], &[]));
    assert_eq!(
        (vars["CI"].as_str(), vars["DENOISE"].as_str()),
        ("0", "unset")
    );
}

#[test]
fn every_variable_is_set_and_exported_under_set_u() {
    let r = project();
    let vars = vars_of(&bootstrap(&r, &["vars"], &[]));
    let head = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    assert_eq!(vars["REF_NAME"], "main");
    assert_eq!(vars["COMMIT_HASH"], head);
    assert_eq!(vars["CI_FULL"], "0");
    assert_eq!(vars["CI_SCENARIO_TEST"], "0");
    assert_eq!(vars["CURRENT_VERSION"], "");

    let vars = vars_of(&bootstrap(
        &r,
        &["vars"],
        &[
            ("CI_SCENARIO_TEST", "1"),
            ("COMMIT_HASH", "abc"),
            ("CURRENT_VERSION", "9.9.9"),
        ],
    ));
    assert_eq!(vars["CI_SCENARIO_TEST"], "1");
    assert_eq!(vars["COMMIT_HASH"], "abc");
    assert_eq!(vars["CURRENT_VERSION"], "9.9.9");

    r.write(
        ".release-please-manifest.json",
        "{\n  \".\": \"1.4.0\",\n  \"other\": \"0.1.0\"\n}\n",
    );
    r.commit_all("manifest");
    assert_eq!(var(&r, "CURRENT_VERSION", &[], &[]), "1.4.0");
}

#[test]
fn clean_removes_the_projects_untracked_files_only() {
    let r = project();
    r.write("proj/build/out.o", "obj");
    r.write("proj/junk.txt", "junk");
    r.write("other/untracked.txt", "keep");
    let out = bootstrap(&r, &["clean"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout, "",
        "exits before the rest of the script; git's lines on stderr"
    );
    assert!(out.stderr.contains("Removing junk.txt"), "{}", out.stderr);
    assert!(!r.join("proj/build").exists(), "ignored files go too");
    assert!(!r.join("proj/junk.txt").exists());
    assert!(r.join("proj/bootstrap.sh").exists());
    assert!(r.join("proj/.gitignore").exists());
    assert!(
        r.join("other/untracked.txt").exists(),
        "outside the project"
    );

    // With NO_CD the caller's directory (here the repository root) is left alone.
    r.write("proj/junk.txt", "junk");
    let out = bootstrap(&r, &["clean"], &[("NO_CD", "1")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!r.join("proj/junk.txt").exists());
    assert!(r.join("other/untracked.txt").exists());
}

#[test]
fn arch_and_os_shadow_coreutils() {
    let dir = tempfile::tempdir().unwrap();
    let out = bash_script(
        dir.path(),
        "source \"$CI3\"\ncommand -v arch\ncommand -v os\narch\nos\n",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], toolbox().join("arch").display().to_string());
    assert_eq!(lines[1], toolbox().join("os").display().to_string());
    let arch = if cfg!(target_arch = "x86_64") {
        "amd64"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "unsupported"
    };
    assert_eq!(lines[2], arch);
    let os = if cfg!(target_os = "linux") {
        "linux"
    } else if cfg!(target_os = "macos") {
        "macos"
    } else {
        "unsupported"
    };
    assert_eq!(lines[3], os);

    // Also by path, without `source`.
    let out = run(&mut command(toolbox().join("arch")));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, format!("{arch}\n").as_str())
    );
    let out = run(&mut command(toolbox().join("os")));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, format!("{os}\n").as_str())
    );
}

#[test]
fn hash_str_orig_is_an_unquoted_echo_without_globbing() {
    let dir = tempfile::tempdir().unwrap();
    let out = bash_script(
        dir.path(),
        "source \"$CI3\"\ntouch one two\n\
         hash_str_orig \"a  b\"; echo\n\
         hash_str_orig '*'; echo\n\
         hash_str_orig \"  a\tb  \" ignored; echo\n\
         hash_str_orig; echo\n\
         bash -c 'hash_str_orig \"x   y\"'; echo\n\
         [[ $- == *f* ]] && echo noglob-left-on || echo globbing-back\n\
         echo o*\n",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key = |s: &str| hash_object(s.as_bytes())[..16].to_string();
    let expected = [
        key("a b\n"),
        key("*\n"),
        key("a b\n"),
        key("\n"),
        key("x y\n"),
        "globbing-back".to_string(),
        "one".to_string(),
    ];
    assert_eq!(
        out.stdout,
        expected
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
        "16 hex chars with no newline of their own"
    );
    // The original's own pipeline, on this machine's git.
    let reference = run(command("bash")
        .arg("-c")
        .arg("echo a b | git hash-object --stdin | cut -c1-16"));
    assert_eq!(reference.stdout, format!("{}\n", key("a b\n")));
}

#[test]
fn colour_variables_and_force_color_are_exported() {
    let dir = tempfile::tempdir().unwrap();
    let out = bash_script(
        dir.path(),
        "source \"$CI3\"\nbash -c 'for v in yellow blue green red purple bold reset FORCE_COLOR; do echo \"$v=${!v-unset}\"; done'\necho -e \"${bold}B${reset}\"\n",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "yellow=\\033[38;2;250;217;121m\n\
         blue=\\033[38;2;95;167;241m\n\
         green=\\033[38;2;97;214;104m\n\
         red=\\033[38;2;230;69;83m\n\
         purple=\\033[38;2;188;109;208m\n\
         bold=\\033[1m\n\
         reset=\\033[0m\n\
         FORCE_COLOR=true\n\
         \x1b[1mB\x1b[0m\n"
    );
}

#[test]
fn extglob_and_globstar_patterns_parse_and_match() {
    let dir = tempfile::tempdir().unwrap();
    let out = bash_script(
        dir.path(),
        r#"source "$CI3"
mkdir -p d/e/f && touch a.c b.c c.c d/e/f/x.txt
case foo in @(foo|bar)) echo extglob ;; *) echo no ;; esac
echo !(c).c
for f in **/*.txt; do echo "$f"; done
function later { echo +(a|b).c; }
later
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "extglob\na.c b.c\nd/e/f/x.txt\na.c b.c\n");
}

#[test]
fn build_system_debug_turns_on_xtrace() {
    let dir = tempfile::tempdir().unwrap();
    let script = "source \"$CI3\"\necho marker\n";
    let out = bash_script(dir.path(), script, &[("BUILD_SYSTEM_DEBUG", "1")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "marker\n");
    assert!(
        out.stderr.lines().any(|l| l == "+ echo marker"),
        "{}",
        out.stderr
    );
    let out = bash_script(dir.path(), script, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("+ echo marker"), "{}", out.stderr);
}

#[test]
fn get_num_cpus_rounds_the_cgroup_quota_down_to_at_least_1() {
    let dir = tempfile::tempdir().unwrap();
    // The same function reading a made-up cgroup file instead of the machine's.
    let out = bash_script(
        dir.path(),
        r#"source "$CI3"
get_num_cpus
fake() {
  printf '%s\n' "$1" >cpu.max
  (eval "$(declare -f get_num_cpus | sed "s|/sys/fs/cgroup/cpu.max|$PWD/cpu.max|")"; get_num_cpus)
}
fake '150000 100000'
fake '50000 100000'
fake '250000 100000'
fake '200000 100000'
fake 'max 100000'
nproc
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let nproc = lines[6];
    assert_eq!(&lines[1..6], ["1", "1", "2", "2", nproc]);
    let machine = match std::fs::read_to_string("/sys/fs/cgroup/cpu.max") {
        Ok(s) => match s.split_whitespace().collect::<Vec<_>>()[..] {
            [q, p] if q != "max" => (q.parse::<u64>().unwrap() / p.parse::<u64>().unwrap())
                .max(1)
                .to_string(),
            _ => nproc.to_string(),
        },
        Err(_) => nproc.to_string(),
    };
    assert_eq!(lines[0], machine);
    assert!(lines[0].parse::<u32>().unwrap() >= 1);
}
