//! The task graph on real repositories: edges inferred from inputs and outputs (and TaskInfos),
//! status carried down the graph, task_run scheduling in dependency order, cycles refused.

mod common;

use common::tasks::{app, chain, chain_with, inputs, output, sh, task, Fixture, LIB};

fn record(f: &Fixture, i: usize) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&f.runs()[i]).unwrap()).unwrap()
}

#[test]
fn a_chain_runs_in_order_each_hashed_after_its_upstream() {
    let f = chain(LIB);
    // Nothing built yet: the inputs that are upstream outputs are absent, and that is no error.
    assert_eq!(
        f.status(&[]),
        ["app.build,Pending", "lib.build,Pending", "pkg.pack,Pending"]
    );
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tasks: Vec<String> = (0..3)
        .map(|i| record(&f, i)["app"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tasks, ["lib", "app", "pkg"]);
    for i in 1..3 {
        assert!(
            record(&f, i)["start_us"].as_u64() >= record(&f, i - 1)["stop_us"].as_u64(),
            "{}",
            out.stderr
        );
    }
    assert_eq!(
        f.status(&[]),
        ["app.build,Exist", "lib.build,Exist", "pkg.pack,Exist"]
    );

    // Editing the library makes all three Pending, each saying what it waits on.
    f.repo.write("lib/src.txt", "lib 2\n");
    assert_eq!(
        f.status(&[]),
        ["app.build,Pending", "lib.build,Pending", "pkg.pack,Pending"]
    );
    let json = f.ok("task_status", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["TaskID"], "app.build");
    assert_eq!(v[0]["WaitsOn"], serde_json::json!(["lib.build"]));
    assert_eq!(v[1]["WaitsOn"], serde_json::json!([]));
    assert_eq!(v[2]["WaitsOn"], serde_json::json!(["app.build"]));
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("app.build => Pending (waits on lib.build)"),
        "{}",
        out.stderr
    );
    // Each was hashed after its upstream wrote the new output: all three are Exist now, and
    // the package holds the new library.
    assert_eq!(
        f.status(&[]),
        ["app.build,Exist", "lib.build,Exist", "pkg.pack,Exist"]
    );
    assert_eq!(
        std::fs::read_to_string(f.repo.join("pkg/out/pkg.txt")).unwrap(),
        "lib 2\nmain\n"
    );
    let app_run = record(&f, 4);
    assert_eq!(app_run["app"], "app");
    let names: Vec<&str> = app_run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"lib/out/lib.txt"), "{names:?}");
}

#[test]
fn task_graph_prints_the_edges_with_statuses() {
    let f = chain(LIB);
    assert_eq!(
        f.ok("task_graph", &[]),
        "lib.build  Pending\n\
         app.build  Pending  <- lib.build\n\
         pkg.pack   Pending  <- app.build\n"
    );
    // A target shows its upstream tasks too, not those downstream.
    assert_eq!(
        f.ok("task_graph", &["app.build"]),
        "lib.build  Pending\napp.build  Pending  <- lib.build\n"
    );
    let dot = f.ok("task_graph", &["--format", "dot"]);
    assert!(dot.starts_with("digraph tasks {\n"), "{dot}");
    assert!(dot.contains("  \"lib.build\" -> \"app.build\";\n"), "{dot}");
    assert!(dot.contains("  \"app.build\" -> \"pkg.pack\";\n"), "{dot}");
    let json = f.ok("task_graph", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[2]["TaskID"], "pkg.pack");
    assert_eq!(v[2]["DependsOn"], serde_json::json!(["app.build"]));
    // baur's command line reaches it as `baur ls deps`.
    assert_eq!(
        f.ok("baur", &["ls", "deps", "app.build"]),
        f.ok("task_graph", &["app.build"])
    );
}

#[test]
fn a_failed_upstream_leaves_the_downstream_skipped() {
    let f = chain("echo broken; exit 3");
    let out = f.run("task_run", &["-p", "2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("app.build: skipped (upstream lib.build failed)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("pkg.pack: skipped (upstream lib.build failed)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("1 task(s) failed, 2 skipped"),
        "{}",
        out.stderr
    );
    // Only the failure is recorded: the others never ran.
    assert_eq!(f.runs().len(), 1);
    assert_eq!(record(&f, 0)["app"], "lib");
    assert!(!f.repo.join("app/out").exists());
}

#[test]
fn a_cycle_is_refused_with_its_tasks_named_before_anything_runs() {
    let one = |name: &str, other: &str| {
        app(
            name,
            &task(
                "build",
                &sh("mkdir -p out && touch out/x"),
                &format!(
                    "{}{}",
                    inputs(&[&format!("../{other}/out/x")]),
                    output("out/x")
                ),
            ),
        )
    };
    let f = Fixture::committed(&[
        ("a/.app.toml", &one("a", "b")),
        ("b/.app.toml", &one("b", "a")),
        ("c/.app.toml", &app("c", &task("build", "[\"true\"]", ""))),
    ]);
    for tool in ["task_status", "task_run", "task_graph"] {
        let out = f.run(tool, &[]);
        assert_eq!(out.code, 2, "{tool}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("the task graph has a cycle: a.build -> b.build -> a.build"),
            "{tool}: {}",
            out.stderr
        );
    }
    assert!(f.runs().is_empty());
    assert!(!f.repo.join("a/out").exists());
}

#[test]
fn a_taskinfos_reference_orders_tasks() {
    // `check` sorts before `zbuild` but needs what it wrote.
    let tasks = format!(
        "{}{}",
        task(
            "check",
            &sh("test -f out/z"),
            "[[Task.Input.TaskInfos]]\ntask_name = \"zbuild\"\nenv_var = \"ZINFO\"\n",
        ),
        task(
            "zbuild",
            &sh("mkdir -p out && echo z > out/z"),
            &format!("{}{}", inputs(&["*.txt"]), output("out/z")),
        )
    );
    let f = Fixture::committed(&[
        ("a/.app.toml", &app("a", &tasks)),
        ("a/in.txt", "1"),
        (".gitignore", "out/\n"),
    ]);
    assert_eq!(
        f.ok("task_graph", &[]),
        "a.zbuild  Pending\na.check   Pending  <- a.zbuild\n"
    );
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(record(&f, 0)["task"], "zbuild");
    assert_eq!(record(&f, 1)["task"], "check");
}

/// top -> left, right -> bottom; each middle task waits for a file the other one creates, so
/// the run can only succeed when both run at once.
#[test]
fn a_diamond_with_two_workers_runs_the_middle_tasks_at_once() {
    let middle = |me: &str, other: &str| {
        let script = format!(
            "mkdir -p ../flags out && touch ../flags/{me} && i=0; \
             while [ ! -e ../flags/{other} ]; do i=$((i+1)); \
             [ $i -gt 600 ] && echo {other} never started && exit 1; sleep 0.05; done; \
             cat ../top/out/t > out/m"
        );
        app(
            me,
            &task(
                "build",
                &sh(&script),
                &format!("{}{}", inputs(&["../top/out/t"]), output("out/m")),
            ),
        )
    };
    let top = app(
        "top",
        &task(
            "build",
            &sh("mkdir -p out && cat in.txt > out/t"),
            &format!("{}{}", inputs(&["*.txt"]), output("out/t")),
        ),
    );
    let bottom = app(
        "bottom",
        &task(
            "build",
            &sh("cat ../left/out/m ../right/out/m > sum"),
            &format!(
                "{}{}",
                inputs(&["../left/out/m", "../right/out/m"]),
                output("sum")
            ),
        ),
    );
    let f = Fixture::committed(&[
        ("top/.app.toml", &top),
        ("top/in.txt", "t\n"),
        ("left/.app.toml", &middle("left", "right")),
        ("right/.app.toml", &middle("right", "left")),
        ("bottom/.app.toml", &bottom),
        (".gitignore", "out/\nflags/\nsum\n"),
    ]);
    let out = f.run("task_run", &["-p", "2", "-o"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        std::fs::read_to_string(f.repo.join("bottom/sum")).unwrap(),
        "t\nt\n"
    );
    let order: Vec<String> = (0..4)
        .map(|i| record(&f, i)["app"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order[0], "top");
    assert_eq!(order[3], "bottom");
}

/// From 16 tasks, status reads every success name in one listing: the answers stay those of
/// one lookup per task (the newest run of a digest, Pending for a changed input).
#[test]
fn many_tasks_read_from_one_listing_keep_their_statuses() {
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 0..20 {
        let t = task(
            "build",
            &sh("mkdir -p out && cat in.txt > out/o"),
            &format!("{}{}", inputs(&["*.txt"]), output("out/o")),
        );
        files.push((format!("a{i:02}/.app.toml"), app(&format!("a{i:02}"), &t)));
        files.push((format!("a{i:02}/in.txt"), format!("{i}\n")));
    }
    files.push((".gitignore".into(), "out/\n".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let f = Fixture::committed(&refs);
    assert_eq!(f.run("task_run", &["-p", "4"]).code, 0);
    assert_eq!(f.run("task_run", &["--force", "a03"]).code, 0);
    let exist: Vec<String> = (0..20).map(|i| format!("a{i:02}.build,Exist")).collect();
    assert_eq!(f.status(&[]), exist);
    // a03's newest run is the forced one.
    let json = f.ok("task_status", &["--format", "json", "-q"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let newest = f
        .runs()
        .last()
        .unwrap()
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(v[3]["RunID"], newest.as_str());
    f.repo.write("a07/in.txt", "changed\n");
    let mut want = exist.clone();
    want[7] = "a07.build,Pending".into();
    assert_eq!(f.status(&[]), want);
}

#[test]
fn a_downstream_task_hashes_what_its_upstream_wrote_in_the_same_run() {
    // app reads its own output too: resolved once lib ran, it reads the out/app.txt of the run
    // before, then writes a new one; pkg, resolved once app ran, must hash the new one, not
    // the file as app's resolution read it.
    let f = chain_with(LIB, &["out/app.txt"]);
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    f.repo.write("lib/src.txt", "lib 2\n");
    let out = f.run("task_run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pkg_run = (0..f.runs().len())
        .rev()
        .map(|i| record(&f, i))
        .find(|r| r["app"] == "pkg")
        .unwrap();
    let recorded = pkg_run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "app/out/app.txt")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let now = f.ok("task_inputs", &["--digests", "pkg.pack"]);
    assert!(
        now.lines()
            .any(|l| l.contains("app/out/app.txt") && l.contains(&recorded)),
        "recorded {recorded}, now:\n{now}\n{}",
        out.stderr
    );
}
