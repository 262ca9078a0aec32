//! Issue 17, items 5 to 8: `task_gc` past unreadable and missing records, output paths that
//! leave the app directory, `task_runs --has-input` over a long history with a corrupt record,
//! and app and task names as baur allows them.

mod common;

use ci3::store::DirStore;
use ci3::tasks::records::{self, Record};
use ci3::trust::Trust;
use common::tasks::{app, calc, copying, ids, task, Fixture, FILES};

/// The stored output objects of the fixture's store, sorted.
fn objects(f: &Fixture) -> Vec<String> {
    let dir = f.store.path().join(".ci3/runs/outputs");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Item 5: a corrupt kept record is named and kept, and the outputs of the deleted runs are
/// still collected (before: nothing was collected at all).
#[test]
fn task_gc_collects_past_a_corrupt_kept_record() {
    let f = copying();
    for input in ["1", "2", "3"] {
        f.repo.write("a/in.txt", input);
        f.ok("task_run", &[]);
    }
    let runs = ids(&f, &[]);
    assert_eq!(runs.len(), 3);
    assert_eq!(objects(&f).len(), 3);
    let kept = f
        .store
        .path()
        .join(format!(".ci3/runs/id/{}.json", runs[0]));
    std::fs::write(&kept, "{ not json").unwrap();

    let gc = f.run("task_gc", &["--before", &runs[0]]);
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert_eq!(gc.stdout, "Task Runs: 2\nOutputs:   3\n", "{}", gc.stderr);
    let named: Vec<&str> = gc.stderr.lines().filter(|l| l.contains(&runs[0])).collect();
    assert_eq!(named.len(), 1, "one line names the record: {}", gc.stderr);
    assert!(named[0].contains("corrupt"), "{}", gc.stderr);
    assert!(kept.exists(), "the corrupt record is kept");
    assert_eq!(objects(&f), Vec::<String>::new());
}

/// Item 5: a run whose record was never written (its output stored, then the record write
/// failed) leaves an object no record names: collected.
#[test]
fn task_gc_collects_the_outputs_of_a_run_without_a_record() {
    let f = copying();
    f.ok("task_run", &[]);
    let lost = ids(&f, &[]).remove(0);
    let lost_object = objects(&f);
    for file in f.files_of_run(&lost) {
        std::fs::remove_file(file).unwrap();
    }
    f.repo.write("a/in.txt", "2");
    f.ok("task_run", &[]);
    let kept = ids(&f, &[]);
    assert_eq!(kept.len(), 1);
    assert_eq!(objects(&f).len(), 2);

    let dry = f.run("task_gc", &["--dry-run", "--before", &kept[0]]);
    assert_eq!(dry.stdout, "Task Runs: 0\nOutputs:   1\n", "{}", dry.stderr);
    assert_eq!(objects(&f).len(), 2);
    let gc = f.run("task_gc", &["--before", &kept[0]]);
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert_eq!(gc.stdout, "Task Runs: 0\nOutputs:   1\n", "{}", gc.stderr);
    let left = objects(&f);
    assert_eq!(left.len(), 1);
    assert_ne!(left, lost_object, "the kept run's output stays");
    f.ok("task_run", &["--restore"]);
}

/// Item 6: an output path that leaves the app directory is refused when the config loads:
/// exit 2, one line naming the file and the path, and the command never runs.
#[test]
fn output_paths_outside_the_app_directory_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let cases = [
        (
            "../../x".to_string(),
            "\"../../x\" leaves the app directory",
        ),
        (
            outside.path().join("f").display().to_string(),
            "is outside the app directory",
        ),
        (
            "{{ env \\\"CI3_TEST_OUTSIDE\\\" }}/f".to_string(),
            "is outside the app directory",
        ),
    ];
    for (path, says) in cases {
        let toml = format!("[[Task.Output.File]]\npath = \"{path}\"\n");
        let mut f = Fixture::committed(&[
            (
                "a/.app.toml",
                &app(
                    "a",
                    &task(
                        "copy",
                        "[\"sh\", \"-c\", \"touch ran\"]",
                        &format!("{FILES}{toml}"),
                    ),
                ),
            ),
            ("a/in.txt", "1"),
        ]);
        f.vars.push((
            "CI3_TEST_OUTSIDE".into(),
            outside.path().display().to_string(),
        ));
        let out = f.run("task_run", &[]);
        assert_eq!(out.code, 2, "{path}: {}", out.stderr);
        let line = out.stderr.trim_end();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(line.contains("a/.app.toml"), "{line}");
        assert!(line.contains("Output.File[0].path"), "{line}");
        assert!(line.contains(says), "{path}: {line}");
        assert!(!f.repo.join("a/ran").exists(), "{path}: nothing runs");
    }
    // Inside the app directory, even written absolute or with `..`: accepted.
    let f = Fixture::committed(&[
        (
            "a/.app.toml",
            &app(
                "a",
                &task(
                    "copy",
                    "[\"sh\", \"-c\", \"mkdir -p o && cat in.txt > o/x\"]",
                    &format!("{FILES}[[Task.Output.File]]\npath = \"o/../o/x\"\n"),
                ),
            ),
        ),
        ("a/in.txt", "1"),
        (".gitignore", "o/\n"),
    ]);
    f.ok("task_run", &[]);
}

/// The record of a run of `calc.build`, forged at a time of our choosing.
fn forged(from: &Record, start_us: u64, input: &str) -> Record {
    let mut r = from.clone();
    r.id = records::new_run_id(start_us).unwrap();
    r.start_us = start_us;
    r.stop_us = start_us + 1000;
    for i in r.inputs.iter_mut().filter(|i| i.name == "calc/in.txt") {
        i.name = input.to_string();
    }
    r
}

/// `calc` with a history of 300 runs a second apart (oldest first in the ids returned), forged
/// from a real run's record: run `i` has the input `calc/in.txt` when `has(i)`, else
/// `calc/other.txt`. The real run's record and names are removed.
fn history(has: impl Fn(u64) -> bool) -> (Fixture, Vec<String>) {
    let f = calc();
    f.ok("task_run", &[]);
    let real = ids(&f, &[]).remove(0);
    let store = DirStore::new(f.store.path().to_path_buf());
    let trust = Trust::new(None, None);
    let template = records::load(&store, &trust, &real).unwrap().unwrap();
    assert!(template.inputs.iter().any(|i| i.name == "calc/in.txt"));
    for file in f.files_of_run(&real) {
        std::fs::remove_file(file).unwrap();
    }
    const T0: u64 = 1_700_000_000_000_000;
    let mut by_index = Vec::new();
    for i in 0..300u64 {
        let input = if has(i) {
            "calc/in.txt"
        } else {
            "calc/other.txt"
        };
        let r = forged(&template, T0 + i * 1_000_000, input);
        records::write(&store, &trust, &r).unwrap();
        by_index.push(r.id);
    }
    (f, by_index)
}

/// Item 7: `--has-input --limit 3` over a history of a few hundred runs, one of them corrupt
/// among the newest: the three newest matches, the same as the whole listing's first three,
/// and the corrupt record named on stderr rather than failing the listing.
#[test]
fn task_runs_has_input_skips_a_corrupt_record_and_stops_at_the_limit() {
    let (f, by_index) = history(|i| i % 7 == 0);
    let corrupt = &by_index[290];
    std::fs::write(
        f.store.path().join(format!(".ci3/runs/id/{corrupt}.json")),
        "{ not json",
    )
    .unwrap();
    let want: Vec<String> = [294, 287, 280]
        .iter()
        .map(|&i| by_index[i].clone())
        .collect();

    let out = f.run(
        "task_runs",
        &["-q", "--has-input", "calc/in.txt", "--limit", "3"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got, want, "{}", out.stderr);
    let named: Vec<&str> = out.stderr.lines().filter(|l| l.contains(corrupt)).collect();
    assert_eq!(named.len(), 1, "{}", out.stderr);

    let every = f.run("task_runs", &["-q", "--has-input", "calc/in.txt"]);
    assert_eq!(every.code, 0, "{}", every.stderr);
    let every: Vec<&str> = every.stdout.lines().collect();
    assert_eq!(every.len(), 43, "runs 0, 7, ..., 294");
    assert_eq!(
        every[..3],
        want,
        "the limit is the sequential answer's first three"
    );
}

/// A fixture of one app and one task with these names (as TOML strings, escapes allowed).
fn named(app_name: &str, task_name: &str) -> Fixture {
    Fixture::committed(&[
        (
            "a/.app.toml",
            &app(
                app_name,
                &task(
                    task_name,
                    "[\"sh\", \"-c\", \"mkdir -p out && cp in.txt out/x\"]",
                    &format!("{FILES}[[Task.Output.File]]\npath = \"out/x\"\n"),
                ),
            ),
        ),
        ("a/in.txt", "1"),
        (".gitignore", "out/\n"),
    ])
}

/// Item 8: an inner space, which baur allows, loads, runs, records and restores.
#[test]
fn names_with_an_inner_space_load_and_run() {
    let f = named("my app", "unit test");
    assert_eq!(
        f.status(&[]),
        ["my app.unit test,Pending"],
        "the repository loads"
    );
    f.ok("task_run", &["my app.unit test"]);
    assert_eq!(f.status(&["my app"]), ["my app.unit test,Exist"]);
    let runs = ids(&f, &["my app.unit test"]);
    assert_eq!(runs.len(), 1);
    std::fs::remove_dir_all(f.repo.join("a/out")).unwrap();
    f.ok("task_run", &["--restore"]);
    assert_eq!(
        std::fs::read_to_string(f.repo.join("a/out/x")).unwrap(),
        "1"
    );
}

/// Item 8: `,` and control characters are refused as baur refuses them: exit 2, one line
/// naming the file and the name (the control character escaped, never raw on the terminal).
#[test]
fn names_with_a_comma_or_a_control_character_are_refused() {
    let cases = [
        (
            "a,b",
            "build",
            "a/.app.toml: name: invalid name \"a,b\": ',' character not allowed in name",
        ),
        (
            "a",
            "bu,ild",
            "a/.app.toml: Task[0].name: invalid name \"bu,ild\": ',' character not allowed in name",
        ),
        (
            "a\\u0001b",
            "build",
            "a/.app.toml: name: invalid name \"a\\x01b\": contains non-printable character: '\\x01'",
        ),
        (
            "a",
            "b\\tc",
            "a/.app.toml: Task[0].name: invalid name \"b\\tc\": contains non-printable character: '\\t'",
        ),
        (
            " a",
            "build",
            "a/.app.toml: name: invalid name \" a\": contains leading or trailing white spaces",
        ),
    ];
    for (app_name, task_name, says) in cases {
        let f = named(app_name, task_name);
        for tool in ["task_status", "task_run"] {
            let out = f.run(tool, &[]);
            assert_eq!(out.code, 2, "{tool} {app_name} {task_name}: {}", out.stderr);
            assert_eq!(out.stdout, "");
            assert!(
                out.stderr.lines().any(|l| l.ends_with(says)),
                "{tool}: want {says:?} in {:?}",
                out.stderr
            );
            assert!(!out.stderr.contains(['\u{1}', '\t']), "{:?}", out.stderr);
        }
        assert!(!f.repo.join("a/out").exists(), "nothing runs");
    }
}

/// Item 7: when the newest runs hold too few matches, `--has-input --limit` lists further back
/// (its first window is 64 runs here) and still finds the oldest ones.
#[test]
fn task_runs_has_input_lists_further_when_the_newest_runs_do_not_match() {
    let (f, by_index) = history(|i| i < 3);
    let oldest: Vec<String> = by_index[..3].iter().rev().cloned().collect();
    let out = f.run(
        "task_runs",
        &["-q", "--has-input", "calc/in.txt", "--limit", "3"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got, oldest, "{}", out.stderr);
}
