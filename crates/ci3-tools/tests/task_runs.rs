//! task_runs and task_show: the run history newest first, its filters and sort, and `--has-input`.

mod common;

use common::tasks::{calc, calc_running, ids, Fixture};

#[test]
fn task_runs_newest_first_with_filters_and_show() {
    let f = calc();
    for _ in 0..3 {
        f.ok("task_run", &["--force"]);
    }
    let all = ids(&f, &[]);
    assert_eq!(all.len(), 3);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(all, sorted, "newest first");
    assert_eq!(ids(&f, &["calc"]), all);
    assert_eq!(ids(&f, &["calc.build"]), all);
    assert_eq!(ids(&f, &["*.build"]), all);
    assert_eq!(ids(&f, &["--limit", "2"]), all[..2]);
    assert_eq!(ids(&f, &["--after", &all[2]]), all[..2]);
    assert_eq!(ids(&f, &["--before", &all[0]]), all[1..]);
    let empty = f.run(
        "task_runs",
        &["--after", "2000-01-01", "--before", "2000.01.02-00:00"],
    );
    assert_eq!(empty.code, 1, "the original's exit for no matching run");
    assert_eq!(empty.stdout, "");
    let csv = f.ok("task_runs", &["--format", "csv", "calc.build"]);
    let row: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(
        row[..4],
        [all[0].as_str(), "calc", "build", "success"],
        "{csv}"
    );
    assert!(row[6].starts_with("blake3:"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&f.ok("task_runs", &["--format", "json", "--limit", "1"])).unwrap();
    assert_eq!(json[0]["RunID"], all[0].as_str());
    assert!(json[0]["Duration"].is_string(), "{json}");
    let none = f.run("task_runs", &["other"]);
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert_eq!(f.run("task_runs", &["--after", "yesterday"]).code, 1);
    let shown = f.ok("task_show", &[&all[0]]);
    assert!(shown.contains("Result:       success"), "{shown}");
    assert!(shown.contains("calc/in.txt"), "{shown}");
    assert!(shown.contains("file:out/x"), "{shown}");
    let shown = f.ok("task_show", &["calc.build"]);
    assert!(
        shown.contains("Command:    sh -c 'mkdir -p out && cp in.txt out/x'"),
        "{shown}"
    );
    assert!(shown.contains("file:     out/x"), "{shown}");
    let rec: serde_json::Value =
        serde_json::from_str(&f.ok("task_show", &["--format", "json", &all[1]])).unwrap();
    assert_eq!(rec["id"], all[1].as_str());
}

/// `calc.build` taking `$DELAY` seconds (not an input): runs of known durations.
fn slow_calc() -> Fixture {
    calc_running("sleep ${DELAY:-0}; mkdir -p out && cp in.txt out/x")
}

#[test]
fn task_runs_sort_and_has_input_as_the_original() {
    let mut f = slow_calc();
    for (delay, input) in [("0.4", "main"), ("0", "feature"), ("0.8", "main")] {
        f.vars = vec![("DELAY".into(), delay.into())];
        f.ok("task_run", &["--force", "--input-str", input]);
    }
    let newest = ids(&f, &[]);
    let [r3, r2, r1] = [&newest[0], &newest[1], &newest[2]];
    let lines = |v: &[&String]| v.iter().map(|s| format!("{s}\n")).collect::<String>();
    for (args, want) in [
        (&["-s", "time-desc"][..], vec![r3, r2, r1]),
        (&["-s", "time-asc"], vec![r1, r2, r3]),
        (&["--sort", "duration-desc"], vec![r3, r1, r2]),
        (&["-s", "duration-asc"], vec![r2, r1, r3]),
        (&["-s", "DURATION-Asc"], vec![r2, r1, r3]),
        // Sorted first, then cut: the longest run, not the newest.
        (&["-s", "duration-desc", "-l", "1"], vec![r3]),
        (&["--has-input", "string:main"], vec![r3, r1]),
        (&["--has-input", "string:feature"], vec![r2]),
        (
            &["--has-input", "calc/in.txt", "-s", "time-asc"],
            vec![r1, r2, r3],
        ),
        (
            &["--has-input", "string:main", "-s", "duration-asc"],
            vec![r1, r3],
        ),
    ] {
        let mut a = vec!["-q"];
        a.extend(args);
        assert_eq!(f.ok("task_runs", &a), lines(&want), "{args:?}");
    }
    // The csv rows follow the same order.
    let csv = f.ok("task_runs", &["--csv", "-s", "duration-asc", "calc.build"]);
    let first: Vec<&str> = csv.lines().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(first, [r2.as_str(), r1, r3], "{csv}");
    let none = f.run("task_runs", &["--has-input", "string:nope"]);
    assert_eq!((none.code, none.stdout.as_str()), (1, ""));
    assert!(
        none.stderr.contains("no matching task runs exist"),
        "{}",
        none.stderr
    );
    for (sort, message) in [
        ("time", "format must be FIELD-ORDER"),
        ("time-desc-asc", "format must be FIELD-ORDER"),
        ("size-asc", "format must be: FIELD-ORDER"),
        ("time-up", "undefined order"),
    ] {
        // A bad option value is a usage error: 2, as clap's (README, "Exit codes").
        let out = f.run("task_runs", &["-s", sort]);
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{sort}");
        assert!(out.stderr.contains(message), "{sort}: {}", out.stderr);
    }
    // The original's command line, which numbers runs in the order they were recorded.
    assert_eq!(
        f.ok(
            "baur",
            &[
                "ls",
                "runs",
                "-q",
                "-s",
                "duration-asc",
                "--has-input=string:main",
                "calc"
            ]
        ),
        "1\n3\n"
    );
}
