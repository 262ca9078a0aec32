//! `source ci3/source` where it used to surprise people: a `root` inherited from another clone,
//! and sourcing at an interactive prompt.

mod common;

use common::{command, run, toolbox, Repo};

#[test]
fn an_inherited_root_of_another_clone_is_replaced_with_a_warning() {
    let (mine, other) = (Repo::new(), Repo::new());
    let out = common::bash_script(
        mine.path(),
        "source \"$CI3\"\necho \"$root\"\n",
        &[("root", other.path().to_str().unwrap())],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let top = mine.path().canonicalize().unwrap();
    assert_eq!(out.stdout, format!("{}\n", top.display()));
    assert_eq!(
        out.stderr,
        format!(
            "ci3: root was {}, but this script is in {}: using {}\n",
            other.path().display(),
            top.display(),
            top.display()
        )
    );
    // The same root, inherited by a nested script of the same repository, says nothing.
    let top_str = top.to_str().unwrap();
    let again = common::bash_script(mine.path(), "source \"$CI3\"\n", &[("root", top_str)], &[]);
    assert_eq!((again.code, again.stderr.as_str()), (0, ""));
}

#[test]
fn sourced_at_a_prompt_it_leaves_the_shells_options_and_directory_alone() {
    let repo = Repo::new();
    let here = repo.path().canonicalize().unwrap();
    // `bash -i`: an interactive shell; its own options are the prompt's (no errexit).
    let mut cmd = command("bash");
    cmd.args(["--norc", "--noprofile", "-i", "-c"])
        .arg(format!(
            "source {}; echo \"pwd=$PWD\"; echo \"opts=$-\"; false; echo still-here; \
             command -v cache_content_hash >/dev/null && echo tools-on-path",
            toolbox().join("source").display()
        ))
        .current_dir(&here);
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("pwd={}", here.display()), "no cd");
    assert!(
        !lines[1].contains('e'),
        "no errexit at a prompt: {}",
        lines[1]
    );
    assert!(
        !lines[1].contains('u'),
        "no nounset at a prompt: {}",
        lines[1]
    );
    assert_eq!(lines[2..], ["still-here", "tools-on-path"]);
}
