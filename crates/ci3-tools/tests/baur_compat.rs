//! `baur` printing what the original prints where CI jobs parse it (issues 18 and 19): `ls apps`
//! JSON keys, `ls runs` times, durations and integer run ids, the version line, `init include`,
//! usage errors naming the baur command, and a config file's string left open.

mod common;

use ci3::store::DirStore;
use ci3::tasks::records::{self, Record};
use ci3::trust::Trust;
use common::tasks::{app, calc, ids, task, Fixture, FILES};
use common::{command, run, Repo};

/// `calc` with four runs of `calc.build` forged from a real one's record (which is removed), at
/// 2023-11-14 22:13:20 UTC plus 0, 1, 2 and 3 seconds, taking 1 h 0.4 s, 62.5 s, 350 ms and
/// 2.345678 s: the first started first and ended last. The ids in that order, and the record.
fn four_runs() -> (Fixture, Vec<String>, Record) {
    let f = calc();
    f.ok("task_run", &[]);
    let real = ids(&f, &[]).remove(0);
    let store = DirStore::new(f.store.path().to_path_buf());
    let trust = Trust::new(None, None);
    let template = records::load(&store, &trust, &real).unwrap().unwrap();
    for file in f.files_of_run(&real) {
        std::fs::remove_file(file).unwrap();
    }
    const T0: u64 = 1_700_000_000_000_000;
    let took = [3_600_400_000, 62_500_000, 350_000, 2_345_678];
    let mut made = Vec::new();
    for (i, took) in took.iter().enumerate() {
        let mut r = template.clone();
        r.start_us = T0 + i as u64 * 1_000_000;
        r.stop_us = r.start_us + took;
        r.id = records::new_run_id(r.start_us).unwrap();
        records::write(&store, &trust, &r).unwrap();
        made.push(r.id);
    }
    (f, made, template)
}

/// Item 2 and 5: `baur ls runs` as ls_runs.go prints it: Id the run's number (the order runs
/// ended in, as baur's database ids were given when a run was saved), Start Time in
/// `flag.DateTimeFormatTz`, Duration as `term.FormatDuration` (Go's `Duration.String()` of the
/// truncated duration; seconds with three decimals in CSV); `task_runs` keeps its own.
#[test]
fn baur_ls_runs_prints_run_numbers_go_times_and_durations() {
    let (f, made, template) = four_runs();
    let digest = template.total_digest.prefixed();
    let row = |id: &str, start: &str, took: &str| {
        format!("{id:<4}calc  build  success  2023.11.14-22:13:{start}-UTC  {took:<10}{digest}\n")
    };
    let want = format!(
        "Id  App   Task   Result   Start Time               Duration  Input Digest\n{}{}{}{}",
        row("2", "23", "2.345s"),
        row("1", "22", "350ms"),
        row("3", "21", "1m2s"),
        row("4", "20", "1h0m0s"),
    );
    assert_eq!(f.ok("baur", &["ls", "runs", "calc.build"]), want);
    assert_eq!(
        f.ok("baur", &["ls", "runs", "--csv", "calc"]),
        format!(
            "2,calc,build,success,2023.11.14-22:13:23-UTC,2.346,{digest}\n\
             1,calc,build,success,2023.11.14-22:13:22-UTC,0.350,{digest}\n\
             3,calc,build,success,2023.11.14-22:13:21-UTC,62.500,{digest}\n\
             4,calc,build,success,2023.11.14-22:13:20-UTC,3600.400,{digest}\n"
        )
    );
    assert_eq!(f.ok("baur", &["ls", "runs", "-q", "calc"]), "2\n1\n3\n4\n");
    // The Start Time column reads back as --after.
    assert_eq!(
        f.ok(
            "baur",
            &[
                "ls",
                "runs",
                "-q",
                "--after",
                "2023.11.14-22:13:21-UTC",
                "calc"
            ]
        ),
        "2\n1\n"
    );
    // task_runs itself: our ids and RFC 3339.
    let own = f.ok("task_runs", &["--csv", "-l", "1"]);
    assert_eq!(
        own,
        format!(
            "{},calc,build,success,2023-11-14T22:13:23Z,2.346,{digest}\n",
            made[3]
        )
    );
}

/// Item 5: a run number stands for its run wherever baur takes a run id: `ls outputs`,
/// `ls inputs`, `show`, `diff inputs` (the example repository's `baur ls outputs 2`).
#[test]
fn run_numbers_are_accepted_where_baur_takes_a_run_id() {
    let (f, made, _) = four_runs();
    // Run 1 is the third made (it ended first), run 4 the first.
    let by_id = f.ok("baur", &["ls", "outputs", "--csv", &made[2]]);
    assert!(by_id.contains("ci3-store:"), "{by_id}");
    assert_eq!(f.ok("baur", &["ls", "outputs", "--csv", "1"]), by_id);
    assert_eq!(
        f.ok("baur", &["ls", "inputs", "--digests", "4"]),
        f.ok("baur", &["ls", "inputs", "--digests", &made[0]])
    );
    let shown = f.ok("baur", &["show", "2"]);
    assert!(
        shown.starts_with(&format!("Run ID:       {}\n", made[3])),
        "{shown}"
    );
    assert!(f
        .ok("task_show", &["3"])
        .starts_with(&format!("Run ID:       {}\n", made[1])));
    let same = f.run("baur", &["diff", "inputs", "1", "4"]);
    assert_eq!(
        (same.code, same.stdout.as_str()),
        (
            0,
            "State  Path  Digest1  Digest2\n\nthe inputs are the same\n"
        ),
        "{}",
        same.stderr
    );
    let twice = f.run("baur", &["diff", "inputs", "1", &made[2]]);
    assert_eq!(twice.code, 1, "{}", twice.stderr);
    assert!(
        twice.stderr.contains("refer to the same task-run"),
        "{}",
        twice.stderr
    );
    let none = f.run("baur", &["ls", "outputs", "5"]);
    assert_eq!((none.code, none.stdout.as_str()), (1, ""));
    assert_eq!(
        none.stderr,
        "baur ls outputs: task run with ID 5 does not exist\n"
    );
}

/// Item 1: baur >= 3.4 keys `ls apps` JSON by its headers (`Name`, `Path`; "formatter: align
/// json implementation"), as Go's encoder writes a list of maps; `task_ls` keeps `AppName`.
#[test]
fn baur_ls_apps_json_has_the_originals_keys() {
    let f = calc();
    let both = "[\n  {\n    \"Name\": \"calc\",\n    \"Path\": \"calc\"\n  }\n]\n";
    assert_eq!(f.ok("baur", &["ls", "apps", "--format", "json"]), both);
    assert_eq!(f.ok("baur", &["ls", "apps", "--format=json", "-q"]), both);
    assert_eq!(
        f.ok("baur", &["ls", "apps", "--format", "json", "-f", "path"]),
        "[\n  {\n    \"Path\": \"calc\"\n  }\n]\n"
    );
    assert_eq!(
        f.ok("task_ls", &["apps", "--format", "json"]),
        "[\n  {\n    \"AppName\": \"calc\",\n    \"Path\": \"calc\"\n  }\n]\n"
    );
}

/// Item 3: `baur --version` is baur's line (`baur version X.Y.Z (...)`, what cobra prints) with
/// our version, saying what this is where baur names its commit.
#[test]
fn baur_version_parses_like_baurs_and_says_what_it_is() {
    let out = run(command(common::tasks::exe("baur")).arg("--version"));
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        format!(
            "baur version {} (ci3: baur's command line run by ci3's task tools)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let again = run(command(common::tasks::exe("baur")).arg("version"));
    assert_eq!(again.stdout, out.stdout);
}

/// Item 4: `baur init include [FILENAME]` as init_include.go: `includes.toml` by default,
/// `.toml` added, every line commented out; an existing file is refused. Uncommented, its
/// includes load.
#[test]
fn baur_init_include_writes_an_example_include_file() {
    let f = Fixture::committed(&[]);
    let init = |args: &[&str]| {
        let mut a = vec!["init", "include"];
        a.extend(args);
        f.run("baur", &a)
    };
    let out = init(&[]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            0,
            "Include configuration file was written to includes.toml\n"
        ),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(f.repo.join("includes.toml")).unwrap();
    assert!(text.lines().all(|l| l.starts_with("# ")), "{text}");
    let again = init(&[]);
    assert_eq!((again.code, again.stdout.as_str()), (1, ""));
    assert_eq!(again.stderr, "baur: includes.toml already exist\n");
    assert_eq!(
        init(&["shared"]).stdout,
        "Include configuration file was written to shared.toml\n"
    );
    assert!(f.repo.join("shared.toml").is_file());
    let two = init(&["a", "b"]);
    assert_eq!(
        (two.code, two.stderr.as_str()),
        (
            1,
            "baur init include: accepts at most 1 arg(s), received 2\n"
        )
    );

    let uncommented: String = text.lines().map(|l| format!("{}\n", &l[2..])).collect();
    f.repo.write("includes.toml", &uncommented);
    f.repo.write(
        "shop/.app.toml",
        "name = \"shop\"\nincludes = [\"{{ .Root }}/includes.toml#example_task\"]\n\
         [[Task]]\nname = \"build\"\ncommand = [\"make\"]\nincludes = [\
         \"{{ .Root }}/includes.toml#example_input\", \"{{ .Root }}/includes.toml#example_output\"]\n",
    );
    assert_eq!(
        f.ok("baur", &["ls", "tasks", "-q", "-f", "task-id"]),
        "shop.build\nshop.check\n"
    );
    let build = f.ok("baur", &["show", "shop.build"]);
    assert!(build.contains("file:     dist/shop.tar.xz"), "{build}");
}

/// Item 7 and 9: a baur command line that is wrong exits 1, as baur's (`log.Fatalln`; 2 is
/// `diff inputs`' "differ"), with one line naming the baur command (with baur's usage of it),
/// never the task tool that runs it. Run directly, a task tool's usage error exits 2 as clap's,
/// except in task_diff and task_verify, where 2 is a result ("differ", "found").
#[test]
fn usage_errors_name_the_baur_command_and_exit_1_as_baurs() {
    let f = calc();
    let out = f.run("baur", &["diff", "inputs"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert_eq!(
        out.stderr,
        "baur diff inputs: the following required arguments were not provided: <A> <B> \
         (usage: baur diff inputs APP_NAME.TASK_NAME|RUN_ID APP_NAME.TASK_NAME|RUN_ID [flags])\n"
    );
    for words in [
        &["ls", "inputs"][..],
        &["ls", "outputs"],
        &["show"],
        &["diff", "inputs", "calc.build"],
        &["run", "--frob"],
        &["status", "--frob"],
        &["ls", "apps", "--frob"],
        &["ls", "runs", "--frob"],
        &["ls", "runs", "-l"],
        &["verify", "--frob"],
        &["cleanup", "db"],
        &["init", "repo", "a", "b"],
        &["init", "app", "a", "b"],
        &["ls"],
        &["ls", "frob"],
        &["diff"],
        &["init"],
        &["cleanup"],
        &["upgrade"],
        &["frobnicate"],
        &["--repository"],
    ] {
        let out = f.run("baur", words);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (1, ""),
            "{words:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{words:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("baur"), "{words:?}: {}", out.stderr);
        assert!(!out.stderr.contains("task_"), "{words:?}: {}", out.stderr);
    }
    let itself = f.run("task_diff", &[]);
    assert_eq!(itself.code, 1);
    assert!(
        itself.stderr.contains("Usage: task_diff"),
        "{}",
        itself.stderr
    );
    for tool in [
        "task_status",
        "task_ls",
        "task_run",
        "task_runs",
        "task_show",
        "task_gc",
    ] {
        let out = f.run(tool, &["--frob"]);
        assert_eq!(out.code, 2, "{tool} --frob: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("Usage: {tool}")),
            "{}",
            out.stderr
        );
    }
    assert_eq!(f.run("task_verify", &["--frob"]).code, 1);
}

/// Item 8: a target naming several tasks where one is needed lists them.
#[test]
fn a_target_naming_several_tasks_lists_them() {
    let two = format!(
        "{}{}",
        task("build", "[\"true\"]", FILES),
        task("check", "[\"true\"]", FILES)
    );
    let f = Fixture::committed(&[
        ("calc/.app.toml", &app("calc", &two)),
        ("calc/in.txt", "1"),
        (
            "shop/.app.toml",
            &app("shop", &task("build", "[\"true\"]", FILES)),
        ),
        ("shop/in.txt", "1"),
    ]);
    let out = f.run("baur", &["ls", "inputs", "calc"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert_eq!(
        out.stderr,
        "baur ls inputs: app \"calc\" has 2 tasks (build, check); name one as calc.build\n"
    );
    let out = f.run("task_inputs", &["*.build"]);
    assert_eq!(
        out.stderr,
        "task_inputs: \"*.build\" names 2 tasks (calc.build, shop.build); name one as calc.build\n"
    );
}

/// Item 6: a string left open in `.app.toml` is named as such, on the line it starts on (the
/// toml parser reports the line where it gave up, as a missing comma).
#[test]
fn an_unterminated_string_is_reported_where_it_starts() {
    let repo = Repo::new();
    repo.write(".baur.toml", common::tasks::BAUR);
    for (text, want) in [
        (
            "name = \"calc\"\n[[Task]]\nname = \"build\"\ncommand = [\"make]\n[Task.Input]\n",
            "calc/.app.toml:4: Task.command: unterminated string",
        ),
        (
            "name = \"calc\"\n[[Task]]\nname = \"\"\"build\ncommand = [\"make\"]\n\n",
            "calc/.app.toml:3: Task.name: unterminated string",
        ),
    ] {
        repo.write("calc/.app.toml", text);
        let out = run(command(common::tasks::exe("task_status")).current_dir(repo.path()));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_eq!(out.stderr, format!("task_status: {want}\n"));
    }
}
