//! The `baur` command line as the original's: its command tests replayed, `init`, `ls apps`,
//! `status -c`, `ls inputs`, `ls outputs` and status filters.

mod common;

use common::tasks::{app, calc, exe, ids, task, Fixture, FILES};
use common::{command, run, Repo};

#[test]
fn the_originals_command_tests_replayed_through_baur() {
    let f = calc();
    assert_eq!(
        f.ok("baur", &["status", "--format=csv", "-q", "-f", "run-id"]),
        "\n"
    );
    let r = f.run("baur", &["run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = ids(&f, &[])[0].clone();
    // status -f run-id: the run that makes the task Exist.
    assert_eq!(
        f.ok("baur", &["status", "--format=csv", "-q", "-f", "run-id"]),
        format!("{id}\n")
    );
    // ls inputs of a task and of its recorded run: the same rows.
    let task = f.ok(
        "baur",
        &["ls", "inputs", "--digests", "--format=csv", "calc.build"],
    );
    let of_run = f.ok("baur", &["ls", "inputs", "--digests", "--format=csv", &id]);
    assert_eq!(task, of_run);
    assert!(task.contains("calc/in.txt,blake3:"), "{task}");
    // diff inputs: one D row after a change, exit 2; --csv as the original spells it.
    f.repo.write("calc/in.txt", "2");
    let d = f.run(
        "baur",
        &["diff", "inputs", "--csv", "calc.build", "calc.build^"],
    );
    assert_eq!(d.code, 2, "{}", d.stderr);
    let rows: Vec<&str> = d.stdout.lines().collect();
    assert_eq!(rows.len(), 1, "{}", d.stdout);
    assert!(rows[0].starts_with("D,calc/in.txt,blake3:"), "{}", d.stdout);
    // ls apps --format json: the original's keys.
    let apps: serde_json::Value =
        serde_json::from_str(&f.ok("baur", &["ls", "apps", "--format", "json"])).unwrap();
    assert_eq!(apps, serde_json::json!([{"Name": "calc", "Path": "calc"}]));
    // ls runs (the run's number as its id, as the original's) and ls outputs.
    let runs = f.ok("baur", &["ls", "runs", "--csv", "calc.build"]);
    assert!(runs.starts_with("1,calc,build,success,"), "{runs}");
    let outs = f.ok("baur", &["ls", "outputs", "-q", &id]);
    assert!(outs.starts_with("ci3-store:.ci3/runs/outputs/"), "{outs}");
    // The original's columns, the upload's duration among them.
    let outs = f.ok("baur", &["ls", "outputs", &id]);
    let header: Vec<&str> = outs
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "URI",
            "Digest",
            "Size (MiB)",
            "Upload Duration (s)",
            "Output Type",
            "Method"
        ]
    );
    let outs = f.ok("baur", &["ls", "outputs", "--csv", &id]);
    let row: Vec<&str> = outs.lines().last().unwrap().split(',').collect();
    assert_eq!(row.len(), 6, "{outs}");
    assert!(row[3].parse::<f64>().is_ok(), "{outs}");
    assert_eq!((row[4], row[5]), ("file", "ci3-store"), "{outs}");
    // --repository from elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = run(&mut f.cmd_in(
        elsewhere.path(),
        "baur",
        &[
            "--repository",
            f.repo.path().to_str().unwrap(),
            "ls",
            "apps",
            "-q",
        ],
    ));
    assert_eq!(out.stdout, "calc  calc\n", "{}", out.stderr);
    // What it cannot do: one line saying what instead, exit 1.
    for words in [
        &["release", "create"][..],
        &["init", "db"],
        &["upgrade", "db"],
    ] {
        let out = f.run("baur", words);
        assert_eq!(out.code, 1, "{words:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("CI3_STORE") || out.stderr.contains("task_restore"),
            "{}",
            out.stderr
        );
    }
    let wrong = f.run("baur", &["frobnicate"]);
    assert_eq!(wrong.code, 1, "a wrong command line exits 1, as baur's");
    assert!(wrong.stderr.contains("frobnicate"), "{}", wrong.stderr);
}

#[test]
fn baur_init_writes_a_repository_and_an_app_that_load() {
    let repo = Repo::new();
    let r = run(command(exe("baur"))
        .current_dir(repo.path())
        .args(["init", "repo"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(repo.join(".baur.toml")).unwrap();
    assert!(text.contains("config_version = 7"), "{text}");
    let again = run(command(exe("baur"))
        .current_dir(repo.path())
        .args(["init", "repo"]));
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already exist"), "{}", again.stderr);
    std::fs::create_dir(repo.join("shop")).unwrap();
    let r = run(command(exe("baur"))
        .current_dir(repo.join("shop"))
        .args(["init", "app"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    repo.commit_all("init");
    let r = run(command(exe("baur"))
        .current_dir(repo.path())
        .env("BRANCH_NAME", "main")
        .args(["ls", "apps", "--csv"]));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "shop,shop\n"),
        "{}",
        r.stderr
    );
    let show = run(command(exe("baur"))
        .current_dir(repo.path())
        .env("BRANCH_NAME", "main")
        .args(["show", "shop.build"]));
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.contains("Command:    make dist"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("push to /my-company/shop:"),
        "{}",
        show.stdout
    );
}

#[test]
fn baur_ls_apps_fields_abs_path_and_targets() {
    let f = Fixture::committed(&[
        (
            "tools/calc/.app.toml",
            &app("calc", &task("build", "[\"true\"]", FILES)),
        ),
        (
            "shop/.app.toml",
            &app("shop", &task("build", "[\"true\"]", FILES)),
        ),
    ]);
    let ls = |args: &[&str]| {
        let mut a = vec!["ls", "apps"];
        a.extend(args);
        f.ok("baur", &a)
    };
    assert_eq!(ls(&[]), "Name  Path\ncalc  tools/calc\nshop  shop\n");
    assert_eq!(ls(&["-q", "-f", "path"]), "tools/calc\nshop\n");
    assert_eq!(
        ls(&["--csv", "--fields", "PATH,Name"]),
        "tools/calc,calc\nshop,shop\n"
    );
    assert_eq!(ls(&["--format=csv", "shop"]), "shop,shop\n");
    assert_eq!(ls(&["--format=csv", "tools/calc"]), "calc,tools/calc\n");
    let root = f.repo.path().canonicalize().unwrap();
    assert_eq!(
        ls(&["-q", "--abs-path", "-f", "path", "shop"]),
        format!("{}/shop\n", root.display())
    );
    assert_eq!(
        ls(&["--format", "json", "-f", "name", "calc"]),
        "[\n  {\n    \"Name\": \"calc\"\n  }\n]\n"
    );
    let bad = f.run("baur", &["ls", "apps", "-f", "size"]);
    assert_eq!((bad.code, bad.stdout.as_str()), (1, ""));
    assert!(
        bad.stderr.contains(
            "invalid argument \"size\" for \"-f, --fields\" flag: FIELD must be one of name, path"
        ),
        "{}",
        bad.stderr
    );
    let unknown = f.run("baur", &["ls", "apps", "nope"]);
    assert_eq!((unknown.code, unknown.stdout.as_str()), (1, ""));
    for task_target in ["calc.build", "*"] {
        let out = f.run("baur", &["ls", "apps", task_target]);
        assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{task_target}");
        assert!(
            out.stderr.contains(&format!(
                "{task_target}: not an app name or an app directory"
            )),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn baur_status_c_requires_a_clean_worktree_and_shows_the_originals_columns() {
    let f = calc();
    let out = f.ok("baur", &["status", "-c", "-f", "app-name,task-id,status"]);
    assert_eq!(
        out,
        format!(
            "Application Name  Task ID     Status\ncalc{}calc.build  Pending\n",
            " ".repeat(14)
        )
    );
    let root = f.repo.path().canonicalize().unwrap();
    assert_eq!(
        f.ok("task_status", &["-q", "--abs-path", "-f", "path"]),
        format!("{}/calc\n", root.display())
    );
    f.repo.write("calc/new.txt", "untracked");
    let dirty = f.run("baur", &["status", "-c"]);
    assert_eq!((dirty.code, dirty.stdout.as_str()), (1, ""));
    assert!(
        dirty
            .stderr
            .contains("the git work tree has modified or untracked files: calc/new.txt"),
        "{}",
        dirty.stderr
    );
    // Without -c a dirty work tree is only a status.
    assert_eq!(f.status(&[]), ["calc.build,Pending"]);
}

#[test]
fn ls_inputs_quiet_csv_header_and_run_argument_errors_as_the_original() {
    let f = calc();
    f.ok("task_run", &[]);
    let id = ids(&f, &[])[0].clone();
    let q = f.ok("baur", &["ls", "inputs", "-q", "--digests", "calc.build"]);
    let rows: Vec<&str> = q.lines().collect();
    assert_eq!(rows.len(), 2, "no header, no total: {q}");
    assert!(rows[0].starts_with("calc/.app.toml  blake3:"), "{q}");
    assert!(rows[1].starts_with("calc/in.txt     blake3:"), "{q}");
    let csv = f.ok("baur", &["ls", "inputs", "--csv", "calc.build"]);
    assert_eq!(csv, "Input\ncalc/.app.toml\ncalc/in.txt\n");
    assert_eq!(
        f.ok("baur", &["ls", "inputs", "--csv", "-q", &id]),
        "calc/.app.toml\ncalc/in.txt\n"
    );
    let bad = f.run("baur", &["ls", "inputs", "--input-str", "x", &id]);
    assert_eq!((bad.code, bad.stdout.as_str()), (1, ""));
    assert!(
        bad.stderr
            .contains("--input-str can only be specified for task-names"),
        "{}",
        bad.stderr
    );
    let p0 = f.run("baur", &["run", "-p", "0"]);
    assert_eq!(p0.code, 1);
    assert!(
        p0.stderr.contains("--parallel-runs must be greater than 0"),
        "{}",
        p0.stderr
    );
    assert_eq!(f.runs().len(), 1, "nothing ran");
}

#[test]
fn status_filter_in_any_case_and_ls_outputs_of_no_run_as_the_original() {
    let f = calc();
    f.ok("task_run", &[]);
    assert_eq!(
        f.ok(
            "baur",
            &["status", "-q", "--csv", "-f", "task-id", "-s", "EXIST"]
        ),
        "calc.build\n"
    );
    assert_eq!(
        f.ok(
            "baur",
            &["status", "-q", "--csv", "-f", "task-id", "-s", "Pending"]
        ),
        ""
    );
    let id = "20990101T000000000000-000000000000";
    let out = f.run("baur", &["ls", "outputs", id]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert!(
        out.stderr
            .contains(&format!("task run with ID {id} does not exist")),
        "{}",
        out.stderr
    );
}

/// Issue 18: the original's default columns are Task ID, Path, Run ID, Status, Git Commit (a CI
/// job's `baur status --csv -q | cut -d, -f4` reads the status), and baur 4's `--format csv`
/// prints its header row unless `-q`, while the older `--csv` never did.
#[test]
fn baur_status_default_columns_and_csv_header_are_the_originals() {
    let f = calc();
    f.ok("baur", &["run"]);
    let id = ids(&f, &[])[0].clone();
    let csv_q = f.ok("baur", &["status", "--csv", "-q"]);
    let row: Vec<&str> = csv_q.trim_end().split(',').collect();
    assert_eq!(row[..4], ["calc.build", "calc", id.as_str(), "Exist"]);
    assert_eq!(
        f.ok("baur", &["status", "--csv"]),
        csv_q,
        "--csv: no header"
    );
    assert_eq!(
        f.ok("baur", &["status", "--format", "csv"]),
        format!("Task ID,Path,Run ID,Status,Git Commit\n{csv_q}")
    );
    assert_eq!(f.ok("baur", &["status", "--format", "csv", "-q"]), csv_q);
    let plain = f.ok("task_status", &[]);
    let header: Vec<&str> = plain
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header.iter().map(|c| c.trim()).collect::<Vec<_>>(),
        ["Task ID", "Path", "Run ID", "Status", "Git Commit"]
    );
}

/// Issue 18: `baur ls inputs APP` of an app with several tasks names them, and a wrong task
/// name lists the app's tasks.
#[test]
fn ambiguous_and_wrong_targets_name_the_tasks_there_are() {
    let f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &format!(
                    "{}{}",
                    task("build", "[\"true\"]", FILES),
                    task("check", "[\"true\"]", FILES)
                ),
            ),
        ),
        ("calc/in.txt", "1"),
    ]);
    let out = f.run("baur", &["ls", "inputs", "calc"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "baur ls inputs: app \"calc\" has 2 tasks (build, check); name one as calc.build\n"
    );
    let out = f.run("task_status", &["calc.nope"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "task_status: calc.nope: app \"calc\" has no task \"nope\" (its tasks: build, check)\n"
    );
}

/// Issue 18: the `[Database]` notice of a baur repository is said once per command, and never
/// with `-q` (a script's `baur status --csv -q` reads a clean stderr).
#[test]
fn the_database_notice_is_said_once_and_never_with_q() {
    let f = calc();
    let baur = std::fs::read_to_string(f.repo.join(".baur.toml")).unwrap();
    f.repo.write(
        ".baur.toml",
        &format!("{baur}[Database]\npostgresql_url = \"postgres://x\"\n"),
    );
    let quiet = f.run("baur", &["status", "--csv", "-q"]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""));
    let said = f.run("baur", &["status"]);
    assert_eq!(said.code, 0, "{}", said.stderr);
    let notices = said
        .stderr
        .lines()
        .filter(|l| l.contains("[Database]"))
        .count();
    assert_eq!(notices, 1, "{}", said.stderr);
}
