//! Targets and total input digests on real git repositories in temp dirs: every target form,
//! and what changes a digest (content, name, mode, symlinks) and what does not (committing,
//! where the checkout is).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use ci3::git::FileIds;
use ci3::settings::Settings;
use ci3::tasks::inputs::Resolver;
use ci3::tasks::targets::select;
use ci3::tasks::Repo;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn new_repo(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    git(&root, &["init", "-q"]);
    write(
        &root,
        ".baur.toml",
        "config_version = 6\n[Discover]\napplication_dirs = [\".\"]\nsearch_depth = 3\n",
    );
    for (p, t) in files {
        write(&root, p, t);
    }
    (dir, root)
}

fn settings(vars: &[(&str, &str)]) -> Settings {
    let home = std::env::temp_dir().join("ci3-tasks-digest-home");
    let mut all: Vec<(String, String)> = vec![("HOME".into(), home.display().to_string())];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::from_vars(all)
}

/// The total digest of every task, by id.
fn digests(root: &Path, s: &Settings, strs: &[String]) -> Vec<(String, String)> {
    let repo = Repo::open(root, s).unwrap();
    let co = repo.checkout(s).unwrap();
    let resolver = Resolver::new(&repo.root, s, FileIds::open(&co).unwrap(), strs);
    let tasks = select(&repo.root, root, &repo.apps, &[]).unwrap();
    tasks
        .iter()
        .map(|t| (t.id(), resolver.resolve(*t).unwrap().total.prefixed()))
        .collect()
}

fn digest(root: &Path) -> String {
    digests(root, &settings(&[]), &[]).remove(0).1
}

const APP: &str = "name = \"a\"\n[[Task]]\nname = \"build\"\ncommand = [\"true\"]\n\
                   [[Task.Input.Files]]\npaths = [\"**\"]\n";

#[test]
fn targets_in_every_form() {
    let app = |name: &str, tasks: &[&str]| {
        let mut s = format!("name = \"{name}\"\n");
        for t in tasks {
            s += &format!("[[Task]]\nname = \"{t}\"\ncommand = [\"true\"]\n");
        }
        s
    };
    let (_d, root) = new_repo(&[
        ("app1/.app.toml", &app("app1", &["build", "check", "test"])),
        ("dir/app2/.app.toml", &app("app2", &["build", "lint"])),
        (
            "dir/app3/.app.toml",
            &app("app3", &["build", "check", "test"]),
        ),
        ("app4/.app.toml", &app("app4", &["check", "deploy", "test"])),
    ]);
    let s = settings(&[]);
    let repo = Repo::open(&root, &s).unwrap();
    let ids = |cwd: &Path, targets: &[&str]| -> Result<Vec<String>, String> {
        let t: Vec<String> = targets.iter().map(|s| s.to_string()).collect();
        select(&repo.root, cwd, &repo.apps, &t)
            .map(|v| v.iter().map(|t| t.id()).collect())
            .map_err(|e| e.to_string())
    };
    let all = ids(&root, &[]).unwrap();
    assert_eq!(all.len(), 11);
    assert_eq!(ids(&root, &["*"]).unwrap(), all);
    assert_eq!(ids(&root, &["*.*"]).unwrap(), all);
    assert_eq!(ids(&root, &["app2"]).unwrap(), ["app2.build", "app2.lint"]);
    assert_eq!(
        ids(&root, &["app2.*"]).unwrap(),
        ["app2.build", "app2.lint"]
    );
    assert_eq!(ids(&root, &["app4.deploy"]).unwrap(), ["app4.deploy"]);
    assert_eq!(
        ids(&root, &["*.check"]).unwrap(),
        ["app1.check", "app3.check", "app4.check"]
    );
    assert_eq!(
        ids(&root, &["app4.test", "*.build", "app1"]).unwrap(),
        [
            "app1.build",
            "app1.check",
            "app1.test",
            "app2.build",
            "app3.build",
            "app4.test"
        ]
    );
    assert_eq!(
        ids(&root, &["dir/app2"]).unwrap(),
        ["app2.build", "app2.lint"]
    );
    let abs = root.join("app1").display().to_string();
    assert_eq!(ids(&root, &[&abs]).unwrap().len(), 3);
    let inside = root.join("dir/app3");
    assert_eq!(ids(&inside, &["."]).unwrap().len(), 3);
    assert_eq!(ids(&inside, &["../app2"]).unwrap().len(), 2);
    assert_eq!(ids(&inside, &["app2.lint"]).unwrap(), ["app2.lint"]);
    assert_eq!(
        ids(&inside.join(".."), &["."]).unwrap_err(),
        ".: not an application directory (no .app.toml of a discovered app in it)"
    );
    assert_eq!(
        ids(&inside, &[".."]).unwrap_err(),
        "..: not an application directory (no .app.toml of a discovered app in it)"
    );
    // Issue 18: "a wrong task name lists no tasks": the error names what there is.
    assert_eq!(
        ids(&root, &["nope"]).unwrap_err(),
        "nope: unknown app \"nope\" (apps: app1, app2, app3, app4)"
    );
    assert_eq!(
        ids(&root, &["app1.nope"]).unwrap_err(),
        "app1.nope: app \"app1\" has no task \"nope\" (its tasks: build, check, test)"
    );
    assert_eq!(
        ids(&root, &["*.nope"]).unwrap_err(),
        "*.nope: no app has a task \"nope\""
    );
    assert_eq!(
        ids(&root, &["no/dir"]).unwrap_err(),
        "no/dir: no such application directory"
    );
}

#[test]
fn what_changes_a_digest_and_what_does_not() {
    let (_d, root) = new_repo(&[("a/.app.toml", APP), ("a/src/x.c", "int x;\n")]);
    let first = digest(&root);
    git(&root, &["add", "-A"]);
    assert_eq!(digest(&root), first, "staging");
    git(&root, &["commit", "-qm", "c"]);
    assert_eq!(digest(&root), first, "committing");

    write(&root, "a/src/x.c", "int y;\n");
    let content = digest(&root);
    assert_ne!(content, first);
    write(&root, "a/src/x.c", "int x;\n");
    assert_eq!(digest(&root), first, "content back");

    fs::rename(root.join("a/src/x.c"), root.join("a/src/z.c")).unwrap();
    assert_ne!(digest(&root), first, "rename");
    fs::rename(root.join("a/src/z.c"), root.join("a/src/x.c")).unwrap();

    let p = root.join("a/src/x.c");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    assert_ne!(digest(&root), first, "chmod +x");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(digest(&root), first);

    write(&root, "t1", "same\n");
    write(&root, "t2", "same\n");
    symlink("../../t1", root.join("a/src/link")).unwrap();
    let linked = digest(&root);
    fs::remove_file(root.join("a/src/link")).unwrap();
    symlink("../../t2", root.join("a/src/link")).unwrap();
    assert_ne!(digest(&root), linked, "symlink retarget");
    fs::remove_file(root.join("a/src/link")).unwrap();
    write(&root, "a/src/link", "same\n");
    let replaced = digest(&root);
    assert_ne!(replaced, linked, "symlink replaced by a file");

    fs::remove_file(root.join("a/src/link")).unwrap();
    symlink("missing", root.join("a/src/link")).unwrap();
    let s = settings(&[]);
    let repo = Repo::open(&root, &s).unwrap();
    let co = repo.checkout(&s).unwrap();
    let resolver = Resolver::new(&repo.root, &s, FileIds::open(&co).unwrap(), &[]);
    let tasks = select(&repo.root, &root, &repo.apps, &[]).unwrap();
    assert_eq!(
        format!("{:#}", resolver.resolve(tasks[0]).unwrap_err()),
        "a.build: a/src/link: broken symbolic link"
    );
}

#[test]
fn odd_names_and_the_checkout_location() {
    let (d, root) = new_repo(&[
        ("a/.app.toml", APP),
        ("a/with space/😀 back\\slash.txt", "x\n"),
    ]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "c"]);
    let here = digest(&root);
    let s = settings(&[]);
    let repo = Repo::open(&root, &s).unwrap();
    let co = repo.checkout(&s).unwrap();
    let resolver = Resolver::new(&repo.root, &s, FileIds::open(&co).unwrap(), &[]);
    let tasks = select(&repo.root, &root, &repo.apps, &[]).unwrap();
    let names: Vec<String> = resolver
        .resolve(tasks[0])
        .unwrap()
        .inputs
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(names, ["a/.app.toml", "a/with space/😀 back\\slash.txt"]);

    let other = tempfile::tempdir().unwrap();
    let moved = fs::canonicalize(other.path()).unwrap().join("elsewhere");
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(&root)
        .arg(&moved)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(digest(&moved), here);
    drop(d);
}

#[test]
fn env_vars_strings_excludes_and_tracked_only() {
    let app = "name = \"a\"\n[[Task]]\nname = \"build\"\ncommand = [\"true\"]\n\
               [[Task.Input.Files]]\npaths = [\"*.c\"]\ngit_tracked_only = true\n\
               [[Task.Input.Files]]\npaths = [\"docs/**\"]\noptional = true\n\
               [Task.Input.ExcludedFiles]\npaths = [\"docs/**/*.md\"]\n\
               [[Task.Input.EnvironmentVariables]]\nnames = [\"CC\"]\n\
               [[Task.Input.EnvironmentVariables]]\nnames = [\"CFLAGS_*\"]\noptional = true\n";
    let (_d, root) = new_repo(&[("a/.app.toml", app), ("a/x.c", "x"), ("a/docs/r.md", "r")]);
    git(&root, &["add", "-A"]);
    let d = |vars: &[(&str, &str)], strs: &[&str]| {
        let strs: Vec<String> = strs.iter().map(|s| s.to_string()).collect();
        digests(&root, &settings(vars), &strs).remove(0).1
    };
    let base = d(&[("CC", "gcc")], &[]);
    assert_eq!(d(&[("CC", "gcc")], &[]), base);
    assert_ne!(d(&[("CC", "clang")], &[]), base);
    assert_ne!(d(&[("CC", "")], &[]), base, "an empty value counts");
    assert_ne!(d(&[("CC", "gcc"), ("CFLAGS_X", "-O2")], &[]), base);
    assert_ne!(d(&[("CC", "gcc")], &["feature-x"]), base);
    write(&root, "a/y.c", "untracked");
    write(&root, "a/docs/more.md", "excluded");
    assert_eq!(
        d(&[("CC", "gcc")], &[]),
        base,
        "untracked and excluded files do not count"
    );
    write(&root, "a/docs/sub/in.txt", "counts");
    assert_ne!(d(&[("CC", "gcc")], &[]), base);

    let s = settings(&[]);
    let repo = Repo::open(&root, &s).unwrap();
    let co = repo.checkout(&s).unwrap();
    let resolver = Resolver::new(&repo.root, &s, FileIds::open(&co).unwrap(), &[]);
    let tasks = select(&repo.root, &root, &repo.apps, &[]).unwrap();
    assert_eq!(
        format!("{:#}", resolver.resolve(tasks[0]).unwrap_err()),
        "a.build: a/.app.toml: environment variable CC is an input but is not set"
    );
}
