//! `source ci3/source`: what bash scripts get from it.

mod common;

use std::path::Path;

use common::{toolbox, Output, Repo};

fn bash_script(dir: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    common::bash_script(dir, script, env, &[])
}

#[test]
fn exports_paths_functions_and_strict_mode() {
    let r = Repo::new();
    std::fs::create_dir_all(r.join("project/sub")).unwrap();
    let out = bash_script(
        &r.join("project/sub"),
        r#"source "$CI3"
echo "ci3=$ci3"
echo "root=$root"
echo "pwd=$PWD"
echo "CI=$CI"
[[ $- == *e* ]] && echo errexit
shopt -qo pipefail && echo pipefail
shopt -qo nounset && echo nounset
shopt -q inherit_errexit && echo inherit_errexit
command -v cache_content_hash >/dev/null && echo tools-on-path
bash -c 'type -t hash_str uuid echo_stderr get_num_cpus get_num_cpus_max' | tr '\n' ' '; echo
uuid
echo "$(hash_str abc)"
get_num_cpus_max 1
echo_stderr to-stderr
source "$CI3"
echo "$PATH" | tr ':' '\n' | grep -c "^$ci3\$"
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("ci3={}", toolbox().display()));
    let top = r.path().canonicalize().unwrap();
    assert_eq!(lines[1], format!("root={}", top.display()));
    assert_eq!(
        lines[2],
        format!("pwd={}", top.join("project/sub").display()),
        "cd into the script's dir"
    );
    assert_eq!(lines[3], "CI=0", "unset CI becomes 0");
    assert_eq!(
        &lines[4..9],
        [
            "errexit",
            "pipefail",
            "nounset",
            "inherit_errexit",
            "tools-on-path"
        ]
    );
    assert_eq!(
        lines[9].trim(),
        "function function function function function"
    );
    assert_eq!(lines[10].len(), 16);
    assert!(
        lines[10]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{}",
        lines[10]
    );
    assert_eq!(lines[11], "8baef1b4abc47817");
    assert_eq!(lines[12], "1");
    assert_eq!(
        lines[13], "1",
        "PATH gets the toolbox once, however often it is sourced"
    );
    assert!(out.stderr.contains("to-stderr"));
    assert!(!out.stdout.contains("to-stderr"));
}

#[test]
fn normalises_ci_and_honours_no_cd_and_root() {
    let dir = tempfile::tempdir().unwrap();
    let script = "source \"$CI3\"\necho \"$CI $PWD $root\"\n";
    let out = bash_script(
        dir.path(),
        script,
        &[("CI", "true"), ("NO_CD", "1"), ("root", "/preset")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tmp = std::env::temp_dir();
    assert_eq!(out.stdout.trim(), format!("1 {} /preset", tmp.display()));
    let out = bash_script(dir.path(), script, &[("CI", "1")]);
    assert!(out.stdout.starts_with("1 "), "{}", out.stdout);
}

#[test]
fn cache_content_hash_works_from_any_subdirectory_through_path() {
    let r = Repo::new();
    r.write("app/.rebuild_patterns", "^app/src/\n");
    r.write("app/src/main.c", "int main;\n");
    // The test's script lives in the tree it hashes: keep it out of the inputs.
    r.write(".gitignore", "script.sh\n");
    r.commit_all("init");
    std::fs::create_dir_all(r.join("app/src/deep")).unwrap();
    let out = bash_script(
        &r.join("app/src/deep"),
        "source \"$CI3\"\ncache_content_hash ../../.rebuild_patterns\ncd ../..\ncache_content_hash .rebuild_patterns\n",
        &[("PLATFORM_TAG", "p")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = r.reference_key("HEAD", &["^app/src/"], "p");
    assert_eq!(out.stdout, format!("{expected}\n{expected}\n"));
}
