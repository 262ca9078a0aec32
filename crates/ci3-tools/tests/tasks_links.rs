//! A file input reached through a symlinked directory counts with where it really is: the same
//! bytes behind another link, or in a plain directory, are another input.

mod common;

use common::tasks::{app, task, Fixture};

/// The digest `task_inputs --digests` gives `calc/deep/x/a.txt`.
fn digest(f: &Fixture) -> String {
    let out = f.ok("task_inputs", &["--digests", "-q", "calc.build"]);
    let line = out
        .lines()
        .find(|l| l.starts_with("calc/deep/x/a.txt "))
        .unwrap_or_else(|| panic!("no calc/deep/x/a.txt in {out}"));
    line.split_whitespace().last().unwrap().to_string()
}

#[test]
fn a_link_two_directories_up_is_part_of_the_input() {
    let inputs = "[[Task.Input.Files]]\npaths = [\"deep/x/a.txt\"]\n";
    let f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app("calc", &task("build", "[\"true\"]", inputs)),
        ),
        ("calc/one/x/a.txt", "same\n"),
        ("calc/two/x/a.txt", "same\n"),
    ]);
    let deep = f.repo.path().join("calc/deep");
    std::os::unix::fs::symlink("one", &deep).unwrap();
    let via_one = digest(&f);
    assert_eq!(digest(&f), via_one, "asked twice, the same");

    std::fs::remove_file(&deep).unwrap();
    std::os::unix::fs::symlink("two", &deep).unwrap();
    let via_two = digest(&f);
    assert_ne!(via_two, via_one, "the same bytes behind another link");

    // The link is not the file's own directory but the one above it: a plain directory there
    // holding the same bytes is yet another input.
    std::fs::remove_file(&deep).unwrap();
    std::fs::create_dir_all(deep.join("x")).unwrap();
    std::fs::write(deep.join("x/a.txt"), "same\n").unwrap();
    let plain = digest(&f);
    assert_ne!(plain, via_one);
    assert_ne!(plain, via_two);
}
