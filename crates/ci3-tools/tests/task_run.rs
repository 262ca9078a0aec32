//! The task tools on real git repositories: the original's scenarios of status and run, run
//! records in the directory store and in the S3 store of `test_source`, and bad configurations.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::tasks::{app, calc, exe, task, Fixture, BAUR, FILES};
use common::{command, run};

#[test]
fn pending_then_run_then_exist_with_the_head_commit() {
    let f = calc();
    assert_eq!(f.status(&[]), ["calc.build,Pending"]);
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Evaluating status of tasks:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("Running 1/1 task(s) with status Pending"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("calc.build: execution successful ("),
        "{}",
        out.stderr
    );
    let head = f.repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let out = f.run(
        "task_status",
        &["-q", "--format", "csv", "-f", "task-id,status,git-commit"],
    );
    assert_eq!(out.stdout, format!("calc.build,Exist,{head}\n"));
    let json = f.run("task_status", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v[0]["TaskID"], "calc.build");
    assert_eq!(v[0]["GitCommit"], head.as_str());
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&f.runs()[0]).unwrap()).unwrap();
    assert_eq!(record["git_commit"], head.as_str());
    assert_eq!(record["result"], "success");
    assert_eq!(record["outputs"][0]["size"], 1);

    // The second run has nothing to do; a changed input makes it Pending again.
    let out = f.run("task_run", &[]);
    assert!(out.stderr.contains("Running 0/1 task(s)"), "{}", out.stderr);
    f.repo.write("calc/in.txt", "2");
    assert_eq!(f.status(&[]), ["calc.build,Pending"]);
    assert_eq!(f.status(&["-s", "exist"]), Vec::<String>::new());

    let inputs = f.run("task_inputs", &["calc.build", "--digests"]);
    assert!(inputs.stdout.contains("calc/in.txt"), "{}", inputs.stdout);
    assert!(
        inputs.stdout.contains("Total Input Digest: blake3:"),
        "{}",
        inputs.stdout
    );
    let id = f.runs()[0]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let recorded = f.run("task_inputs", &[&id]);
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    assert!(recorded.stdout.contains("calc/in.txt"));
    let ls = f.run("task_ls", &["tasks", "-q"]);
    assert_eq!(ls.stdout, "calc.build  calc\n");
}

#[test]
fn no_inputs_is_undefined_and_always_runs() {
    let f = Fixture::new(&[("a/.app.toml", &app("a", &task("t", "[\"true\"]", "")))]);
    f.repo.commit_all("init");
    assert_eq!(f.status(&[]), ["a.t,Inputs Undefined"]);
    for _ in 0..2 {
        let out = f.run("task_run", &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.contains("Running 1/1"), "{}", out.stderr);
    }
    assert_eq!(f.runs().len(), 2);
    assert_eq!(f.status(&[]), ["a.t,Inputs Undefined"]);
}

#[test]
fn env_var_inputs_required_and_optional() {
    let env = |optional: bool| {
        format!("[[Task.Input.EnvironmentVariables]]\nnames = [\"MODE\"]\noptional = {optional}\n")
    };
    let mut f = Fixture::new(&[
        (
            "a/.app.toml",
            &app("a", &task("req", "[\"true\"]", &env(false))),
        ),
        (
            "b/.app.toml",
            &app("b", &task("opt", "[\"true\"]", &env(true))),
        ),
    ]);
    f.repo.commit_all("init");
    let out = f.run("task_status", &["a.req"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("environment variable MODE is an input but is not set"),
        "{}",
        out.stderr
    );
    assert_eq!(f.status(&["b"]), ["b.opt,Pending"]);
    f.vars.push(("MODE".into(), "".into()));
    assert_eq!(f.run("task_run", &[]).code, 0);
    assert_eq!(f.status(&[]), ["a.req,Exist", "b.opt,Exist"]);
    f.vars[0].1 = "fast".into();
    assert_eq!(f.status(&[]), ["a.req,Pending", "b.opt,Pending"]);
    let shown = f.run("task_inputs", &["a.req"]);
    assert!(shown.stdout.contains("$MODE") && !shown.stdout.contains("fast"));
}

#[test]
fn input_strings_and_lookup() {
    let f = Fixture::new(&[
        ("a/.app.toml", &app("a", &task("t", "[\"true\"]", FILES))),
        ("a/x.txt", "x"),
    ]);
    f.repo.commit_all("init");
    assert_eq!(f.run("task_run", &["--input-str", "feature-x"]).code, 0);
    assert_eq!(f.status(&["--input-str", "feature-x"]), ["a.t,Exist"]);
    assert_eq!(f.status(&["--input-str", "feature-y"]), ["a.t,Pending"]);
    assert_eq!(
        f.status(&[
            "--input-str",
            "feature-y",
            "--lookup-input-str",
            "feature-x"
        ]),
        ["a.t,Exist"]
    );
    assert_eq!(f.status(&[]), ["a.t,Pending"]);
}

#[test]
fn fail_fast_skips_queued_tasks() {
    let tasks = format!(
        "{}{}{}",
        task("a1", "[\"false\"]", ""),
        task("b2", "[\"true\"]", ""),
        task("c3", "[\"true\"]", "")
    );
    let f = Fixture::new(&[("a/.app.toml", &app("a", &tasks))]);
    f.repo.commit_all("init");
    let out = f.run("task_run", &["--fail-fast"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("a.b2: execution skipped: a previous task failed and --fail-fast was given"),
        "{}",
        out.stderr
    );
    assert_eq!(f.runs().len(), 1, "only the failure is recorded");
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("a.c3: execution successful"),
        "{}",
        out.stderr
    );
    assert_eq!(f.runs().len(), 4);
}

#[test]
fn parallel_runs_overlap() {
    let mut tasks = String::new();
    for i in 0..6 {
        tasks += &task(&format!("t{i}"), "[\"sleep\", \"1\"]", "");
    }
    let f = Fixture::new(&[("a/.app.toml", &app("a", &tasks))]);
    f.repo.commit_all("init");
    let t = Instant::now();
    let out = f.run("task_run", &["-p", "6"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(t.elapsed().as_secs_f64() < 4.0, "{:?}", t.elapsed());
    let spans: Vec<(u64, u64)> = f
        .runs()
        .iter()
        .map(|p| {
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            (
                r["start_us"].as_u64().unwrap(),
                r["stop_us"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(spans.len(), 6);
    let latest_start = spans.iter().map(|s| s.0).max().unwrap();
    let earliest_stop = spans.iter().map(|s| s.1).min().unwrap();
    assert!(
        latest_start < earliest_stop,
        "all six ran at once: {spans:?}"
    );
}

#[test]
fn clean_worktree_outputs_failures_and_output() {
    let f = Fixture::new(&[
        (
            "a/.app.toml",
            &app(
                "a",
                &format!(
                    "{}{}{}",
                    task(
                        "noout",
                        "[\"true\"]",
                        &format!("{FILES}[[Task.Output.File]]\npath = \"never\"\n")
                    ),
                    task("fails", "[\"sh\", \"-c\", \"echo broken; exit 3\"]", FILES),
                    task("talks", "[\"echo\", \"hello from talks\"]", FILES),
                ),
            ),
        ),
        ("a/x.txt", "x"),
    ]);
    f.repo.commit_all("init");
    f.repo.write("a/untracked.txt", "u");
    let out = f.run("task_run", &["-c"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("a/untracked.txt"), "{}", out.stderr);
    assert!(f.runs().is_empty(), "nothing ran");
    std::fs::remove_file(f.repo.join("a/untracked.txt")).unwrap();

    let out = f.run("task_run", &["-o"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "a.noout: has never as output defined but it was not created by the task run"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("a.fails: execution failed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stdout.matches("a.talks: hello from talks").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("a.fails: broken").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(
        f.status(&[]),
        ["a.fails,Pending", "a.noout,Pending", "a.talks,Exist"]
    );
    let failures = f
        .runs()
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("\"result\": \"failure\"")
        })
        .count();
    assert_eq!(failures, 2);
}

#[test]
fn bad_configurations_are_one_line_and_nothing_runs() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("name = \"a\"\nnmae = 1\n", "a/.app.toml:2: unknown key `nmae`", &[]),
        (
            "name = \"a\"\nincludes = [\"missing.toml#x\"]\n",
            "a/.app.toml: includes[0]: cannot read a/missing.toml",
            &[],
        ),
        (
            "name = \"a\"\n[[Task]]\nname = \"b\"\ncommand = [\"touch\", \"ran\"]\n[[Task.Input.Files]]\npaths = [\"[x\"]\n",
            "a/.app.toml: Task \"b\".Input.Files[0].paths[0]: invalid glob",
            &[],
        ),
        (
            "name = \"a\"\n[[Task]]\nname = \"b\"\ncommand = [\"touch\", \"ran\"]\n[[Task.Input.TaskInfos]]\ntask_name = \"b\"\nenv_var = \"X\"\n",
            "a/.app.toml: Task \"b\".Input.TaskInfos: cycle b -> b",
            &[],
        ),
        (
            "name = \"a\"\n[[Task]]\nname = \"b\"\ncommand = [\"touch\", \"ran\"]\n",
            "a.nope: app \"a\" has no task \"nope\"",
            &["a.nope"],
        ),
    ];
    for (text, expected, targets) in cases {
        let f = Fixture::new(&[("a/.app.toml", text)]);
        f.repo.commit_all("init");
        let out = f.run("task_run", targets);
        // Issue 16: a configuration that cannot be right exits 2; a target naming nothing, 1.
        let code = if targets.is_empty() { 2 } else { 1 };
        assert_eq!(out.code, code, "{text}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!("task_run: {expected}")),
            "{}",
            out.stderr
        );
        assert!(!f.repo.join("a/ran").exists());
    }
}

#[test]
fn version_6_includes_and_task_infos() {
    let inc = "[[Input]]\ninclude_id = \"src\"\n[[Input.Files]]\npaths = [\"{{ .AppName }}.txt\", \"{{ .Root }}/shared/*.txt\"]\n";
    let two = |name: &str| {
        format!(
            "name = \"{name}\"\n[[Task]]\nname = \"build\"\ncommand = [\"sh\", \"-c\", \"cat $INFO > info.json\"]\n\
             includes = [\"{{{{ .Root }}}}/inc.toml#src\"]\n\
             [[Task.Input.TaskInfos]]\ntask_name = \"gen\"\nenv_var = \"INFO\"\n\
             [[Task]]\nname = \"gen\"\ncommand = [\"true\"]\n[[Task.Input.Files]]\npaths = [\"gen.in\"]\n"
        )
    };
    let f = Fixture::new(&[
        ("inc.toml", inc),
        ("p/.app.toml", &two("p")),
        ("p/p.txt", "p"),
        ("p/gen.in", "g"),
        ("q/.app.toml", &two("q")),
        ("q/q.txt", "q"),
        ("q/gen.in", "g"),
        ("shared/s.txt", "s"),
    ]);
    f.repo.write(".baur.toml", &BAUR.replace("= 7", "= 6"));
    f.repo.commit_all("init");
    assert_eq!(
        f.status(&["*.build"]),
        ["p.build,Pending", "q.build,Pending"]
    );
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.repo.join("p/info.json")).unwrap())
            .unwrap();
    assert_eq!(info["TaskId"], "p.gen");
    assert!(info["TotalInputDigest"]
        .as_str()
        .unwrap()
        .starts_with("blake3:"));
    f.repo.write("shared/s.txt", "changed");
    assert_eq!(
        f.status(&["*.build"]),
        ["p.build,Pending", "q.build,Pending"]
    );
    f.repo.write("shared/s.txt", "s");
    f.repo.write("q/gen.in", "changed");
    assert_eq!(
        f.status(&[]),
        [
            "p.build,Exist",
            "p.gen,Exist",
            "q.build,Pending",
            "q.gen,Pending"
        ]
    );
    let inputs = f.run("task_inputs", &["p.build"]);
    assert!(
        inputs.stdout.contains("inc.toml") && inputs.stdout.contains("task:p.gen"),
        "{}",
        inputs.stdout
    );
    // From inside an app directory, `.` is that app.
    let out = run(&mut f.cmd_in(
        &f.repo.join("q"),
        "task_status",
        &["-q", "--csv", "-f", "task-id", "."],
    ));
    assert_eq!(out.stdout, "q.build\nq.gen\n");
}

fn have_go() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn golang_sources_cover_vendored_code() {
    if !have_go() {
        eprintln!("skipped: no go on PATH (.ci/run installs golang-go)");
        return;
    }
    let app_toml = "name = \"svc\"\n[[Task]]\nname = \"build\"\ncommand = [\"true\"]\n\
                    [[Task.Input.GolangSources]]\nqueries = [\"./cmd/...\"]\nenvironment = [\"GOFLAGS=-mod=vendor\", \"GOTOOLCHAIN=local\"]\n";
    let f = Fixture::new(&[
        ("svc/.app.toml", app_toml),
        (
            "svc/go.mod",
            "module example.com/svc\n\ngo 1.18\n\nrequire example.com/dep v1.0.0\n",
        ),
        (
            "svc/cmd/main.go",
            "package main\n\nimport \"example.com/dep\"\n\nfunc main() { dep.Hi() }\n",
        ),
        ("svc/other/other.go", "package other\n"),
        (
            "svc/vendor/example.com/dep/dep.go",
            "package dep\n\nfunc Hi() {}\n",
        ),
        (
            "svc/vendor/modules.txt",
            "# example.com/dep v1.0.0\n## explicit\nexample.com/dep\n",
        ),
    ]);
    f.repo.commit_all("init");
    assert_eq!(f.status(&[]), ["svc.build,Pending"]);
    assert_eq!(f.run("task_run", &[]).code, 0);
    assert_eq!(f.status(&[]), ["svc.build,Exist"]);
    f.repo
        .write("svc/other/other.go", "package other\n\n// changed\n");
    assert_eq!(f.status(&[]), ["svc.build,Exist"]);
    f.repo.write(
        "svc/vendor/example.com/dep/dep.go",
        "package dep\n\nfunc Hi() { println() }\n",
    );
    assert_eq!(f.status(&[]), ["svc.build,Pending"]);
}

#[test]
fn golang_sources_without_go_is_one_line() {
    let app_toml = "name = \"svc\"\n[[Task]]\nname = \"build\"\ncommand = [\"true\"]\n\
                    [[Task.Input.GolangSources]]\nqueries = [\"./...\"]\n";
    let f = Fixture::new(&[("svc/.app.toml", app_toml)]);
    f.repo.commit_all("init");
    let out = run(f
        .cmd_in(f.repo.path(), "task_status", &[])
        .env("PATH", "/nonexistent"));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("svc.build: svc/.app.toml: GolangSources: no `go` on PATH: install Go"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_runners_share_one_s3_store() {
    let (Ok(bucket), Ok(endpoint)) = (
        std::env::var("CI3_S3_BUCKET"),
        std::env::var("CI3_S3_ENDPOINT"),
    ) else {
        panic!("CI3_S3_BUCKET is not set: run the tests with `bash ci3/run_tests`");
    };
    let mut tasks = String::new();
    for i in 0..20 {
        tasks += &task(&format!("t{i:02}"), "[\"true\"]", FILES);
    }
    let f = Fixture::new(&[("a/.app.toml", &app("a", &tasks)), ("a/x.txt", "x")]);
    f.repo.commit_all("init");
    let copy = tempfile::tempdir().unwrap();
    let other = copy.path().join("clone");
    f.repo.git(&[
        "clone",
        "-q",
        f.repo.path().to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    let prefix = format!("tasks-{}/", std::process::id());
    let spawn = |dir: &Path| {
        let mut cmd = command(exe("task_run"));
        cmd.current_dir(dir)
            .args(["-p", "4", "--force"])
            .env("CI3_STORE", format!("s3://{bucket}/{prefix}"))
            .env("CI3_S3_ENDPOINT", &endpoint)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let a = spawn(f.repo.path());
    let b = spawn(&other);
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let status = run(command(exe("task_status"))
        .current_dir(f.repo.path())
        .args(["-q", "--csv", "-f", "status"])
        .env("CI3_STORE", format!("s3://{bucket}/{prefix}"))
        .env("CI3_S3_ENDPOINT", &endpoint));
    assert_eq!(status.stdout, "Exist\n".repeat(20), "{}", status.stderr);
    for i in 0..20 {
        let hist = run(command(exe("task_inputs"))
            .current_dir(f.repo.path())
            .args([&format!("a.t{i:02}"), "--digests", "--format", "json"])
            .env("CI3_STORE", format!("s3://{bucket}/{prefix}"))
            .env("CI3_S3_ENDPOINT", &endpoint));
        assert_eq!(hist.code, 0, "{}", hist.stderr);
    }
    // Every run of both runners is there and complete.
    let records = ci3_records_on_s3(&bucket, &endpoint, &prefix);
    assert_eq!(records.len(), 40, "{records:?}");
    for (id, body) in records {
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(v["result"], "success");
    }
}

/// Every run record under `prefix` of the test bucket, read with the library's S3 store.
fn ci3_records_on_s3(bucket: &str, endpoint: &str, prefix: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.retain(|(k, _)| k != "CI3_STORE" && k != "CI3_S3_ENDPOINT");
    vars.push(("CI3_STORE".into(), format!("s3://{bucket}/{prefix}")));
    vars.push(("CI3_S3_ENDPOINT".into(), endpoint.into()));
    let settings = ci3::settings::Settings::from_vars(vars);
    let selected = ci3::store::open(&settings, std::sync::Arc::new(ci3::report::Silent)).unwrap();
    let store = selected.store.as_ref();
    store
        .list(".ci3/runs/id/")
        .unwrap()
        .into_iter()
        .map(|name| {
            let mut buf = Vec::new();
            assert!(store.get(&name, &mut buf).unwrap());
            (name, String::from_utf8(buf).unwrap())
        })
        .collect()
}
