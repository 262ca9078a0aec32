//! The task runner's history on real git repositories: signed run records, `task_runs`,
//! `task_show`, `task_diff`, `task_verify`, restoring outputs, docker outputs through a stand-in
//! `docker`, and the `baur` command line.

mod common;

use std::path::Path;

use common::tasks::{app, calc, calc_running, exe, task, Fixture, FILES};
use common::{command, run, Repo};

/// The run ids `task_runs ARGS -q` prints.
fn ids(f: &Fixture, args: &[&str]) -> Vec<String> {
    let mut a = vec!["-q"];
    a.extend(args);
    f.ok("task_runs", &a).lines().map(String::from).collect()
}

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

#[test]
fn task_diff_runs_tasks_and_argument_errors() {
    let f = calc();
    f.ok("task_run", &["--input-str", "main"]);
    // A task against its own last run: nothing changed.
    let same = f.run(
        "task_diff",
        &["--input-str", "main", "calc.build", "calc.build^"],
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(
        same.stdout.ends_with("the inputs are the same\n"),
        "{}",
        same.stdout
    );
    let without = f.run("task_diff", &["calc.build", "calc.build^"]);
    assert_eq!(without.code, 2, "{}", without.stderr);
    assert!(without.stdout.contains("string:main"), "{}", without.stdout);
    f.repo.write("calc/in.txt", "2");
    f.repo.commit_all("change");
    // After one change: one D row, the file, with both digests.
    let out = f.run(
        "task_diff",
        &["--csv", "--input-str", "main", "calc.build", "calc.build^"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let rows: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert_eq!(rows[0][..2], ["D", "calc/in.txt"]);
    assert!(rows[0][2].starts_with("blake3:") && rows[0][3].starts_with("blake3:"));
    assert_ne!(rows[0][2], rows[0][3]);
    f.ok("task_run", &["--input-str", "feature"]);
    let ids = ids(&f, &[]);
    // Two runs with different input strings and files.
    let out = f.run("task_diff", &[&ids[1], &ids[0]]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let states: Vec<(String, String)> = out
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[0].to_string(), w[1].to_string())
        })
        .collect();
    assert_eq!(
        states,
        [
            ("D".to_string(), "calc/in.txt".to_string()),
            ("+".to_string(), "string:feature".to_string()),
            ("-".to_string(), "string:main".to_string()),
        ],
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("\nthe inputs differ\n"),
        "{}",
        out.stdout
    );
    let q = f.run(
        "task_diff",
        &["-q", "--input-str", "feature", "calc.build", &ids[0]],
    );
    assert_eq!(
        (q.code, q.stdout.as_str()),
        (0, "the inputs are the same\n"),
        "{}",
        q.stderr
    );
    for (a, b, message) in [
        ("*.build", "calc.build", "invalid argument: \"*.build\""),
        ("calc.", "calc.build", "invalid argument: \"calc.\""),
        ("calc.build", ".build", "invalid argument: \".build\""),
        ("calc.*", "calc.build", "invalid argument: \"calc.*\""),
        (
            "calc.build^",
            "calc.build^",
            "calc.build^ and calc.build^ refer to the same task-run",
        ),
        (&ids[0], "calc.build^", "refer to the same task-run"),
        (
            "calc.build^^^",
            "calc.build",
            "run calc.build^^^ does not exist, only 2 task-run(s) exist(s)",
        ),
        ("calc.nope", "calc.build", "calc.nope: task not found"),
        (
            "20990101T000000000000-000000000000",
            "calc.build",
            "task-run 20990101T000000000000-000000000000 does not exist",
        ),
    ] {
        let out = f.run("task_diff", &[a, b]);
        assert_eq!(out.code, 1, "{a} {b}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{a} {b}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
}

/// Every object of the directory store below `dir` (relative names, sorted).
fn stored(f: &Fixture, dir: &str) -> Vec<String> {
    let root = f.store.path().join(dir);
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                let rel = e.path().strip_prefix(&root).unwrap().display().to_string();
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// `task_gc --before` (baur's `cleanup db --task-runs-before`) deletes the older runs, their
/// names, and the outputs only they stored; an output a kept run also stored stays.
#[test]
fn task_gc_deletes_older_runs_and_the_outputs_only_they_stored() {
    let out_file = "[[Task.Output.File]]\npath = \"out\"\n";
    let f = Fixture::committed(&[
        (
            "a/.app.toml",
            &app(
                "a",
                &task(
                    "copy",
                    "[\"sh\", \"-c\", \"cat in.txt > out\"]",
                    &format!("{FILES}{out_file}"),
                ),
            ),
        ),
        ("a/in.txt", "1"),
        (".gitignore", "out\n"),
    ]);
    f.ok("task_run", &[]);
    f.repo.write("a/in.txt", "2");
    f.ok("task_run", &[]);
    f.repo.write("a/in.txt", "1");
    f.ok("task_run", &["--force"]);
    let runs = ids(&f, &[]);
    assert_eq!(runs.len(), 3);
    let outputs = stored(&f, ".ci3/runs/outputs");
    assert_eq!(outputs.len(), 2, "two distinct outputs: {outputs:?}");
    let everything = stored(&f, ".ci3/runs");

    // A dry run counts and deletes nothing.
    let dry = f.run(
        "baur",
        &[
            "cleanup",
            "db",
            "--pretend",
            &format!("--task-runs-before={}", runs[0]),
        ],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.stdout, "Task Runs: 2\nOutputs:   1\n");
    assert_eq!(stored(&f, ".ci3/runs"), everything);

    let gc = f.run("task_gc", &["--before", &runs[0]]);
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert_eq!(gc.stdout, "Task Runs: 2\nOutputs:   1\n");
    assert!(gc.stderr.contains("1 run(s) kept"), "{}", gc.stderr);
    assert_eq!(ids(&f, &[]), [runs[0].clone()]);
    let left = stored(&f, ".ci3/runs");
    for old in &runs[1..] {
        assert!(
            !left.iter().any(|n| n.contains(old.as_str())),
            "{old} gone: {left:?}"
        );
    }
    assert!(left.contains(&format!("id/{}.json", runs[0])), "{left:?}");
    assert_eq!(
        left.iter().filter(|n| n.starts_with("outputs/")).count(),
        1,
        "the kept run's output stays: {left:?}"
    );
    assert_eq!(
        f.ok("task_status", &["-q", "--csv", "-f", "status"]),
        "Exist\n"
    );
    // Nothing older left: nothing to do.
    let again = f.run("task_gc", &["--before", &runs[0]]);
    assert_eq!(again.stdout, "Task Runs: 0\nOutputs:   0\n");
    let bad = f.run("task_gc", &["--before", "last week"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("last week: not a date"),
        "{}",
        bad.stderr
    );
}

#[test]
fn task_verify_finds_equal_inputs_with_different_outputs() {
    let out_file = "[[Task.Output.File]]\npath = \"out\"\n";
    let f = Fixture::committed(&[
        (
            "a/.app.toml",
            &app(
                "a",
                &(task(
                    "same",
                    "[\"sh\", \"-c\", \"cat in.txt > out\"]",
                    &format!("{FILES}{out_file}"),
                ) + &task(
                    "stamp",
                    "[\"sh\", \"-c\", \"date +%s%N > out\"]",
                    &format!("{FILES}{out_file}"),
                )),
            ),
        ),
        ("a/in.txt", "1"),
        (".gitignore", "out\n"),
    ]);
    f.ok("task_run", &["a.same"]);
    f.ok("task_run", &["--force", "a.same"]);
    let ok = f.run("task_verify", &[]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("a.same: OK"), "{}", ok.stdout);
    assert!(ok.stdout.ends_with("No issues found\n"), "{}", ok.stdout);
    f.ok("task_run", &["a.stamp"]);
    f.ok("task_run", &["--force", "a.stamp"]);
    let runs = ids(&f, &["a.stamp"]);
    let bad = f.run("task_verify", &[]);
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
    assert!(
        bad.stdout.contains("a.stamp: Issues found"),
        "{}",
        bad.stdout
    );
    assert!(
        bad.stdout.contains(&format!(
            "- runs {} and {} have the same inputs",
            runs[1], runs[0]
        )),
        "{}",
        bad.stdout
    );
    assert!(
        bad.stdout.contains("output file:out differs"),
        "{}",
        bad.stdout
    );
    assert_eq!(f.run("task_verify", &["a.same"]).code, 0);
    let later = f.run("task_verify", &["--from", "2999.01.01"]);
    assert_eq!(later.code, 0, "{}", later.stdout);
    assert_eq!(f.run("task_verify", &["--from", "someday"]).code, 1);
}

#[test]
fn restore_brings_back_bytes_and_mode_and_refuses_a_tampered_output() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &task(
                    "build",
                    "[\"sh\", \"-c\", \"mkdir -p out/bin && printf '#!/bin/sh\\\\necho %s\\\\n' $(cat in.txt) > out/bin/calc && chmod 750 out/bin/calc\"]",
                    &format!("{FILES}[[Task.Output.File]]\npath = \"out/bin/calc\"\n"),
                ),
            ),
        ),
        ("calc/in.txt", "1"),
        (".gitignore", "out/\n"),
    ]);
    f.ok("task_run", &[]);
    let out = f.repo.join("calc/out/bin/calc");
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"#!/bin/sh"), "{bytes:?}");
    std::fs::remove_dir_all(f.repo.join("calc/out")).unwrap();
    // --force runs everything: nothing is left to restore, and saying both is a usage error.
    let r = f.run("task_run", &["--restore", "--force"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("'--restore' cannot be used with '--force'"),
        "{}",
        r.stderr
    );
    assert!(!out.exists(), "nothing ran");
    // task_run --restore: the Exist task is not run, its output comes back.
    let r = f.run("task_run", &["--restore"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("calc.build: restored out/bin/calc"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Running 0/1 task(s)"), "{}", r.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750);
    std::fs::remove_file(&out).unwrap();
    let r = f.run("task_restore", &["calc.build"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    // The stored output changed behind the record's back: refused, nothing placed.
    let stored = std::fs::read_dir(f.store.path().join(".ci3/runs/outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == bytes)
        .expect("the stored output");
    let mut perm = std::fs::metadata(&stored).unwrap().permissions();
    perm.set_mode(0o644);
    std::fs::set_permissions(&stored, perm).unwrap();
    std::fs::remove_file(&stored).unwrap();
    std::fs::write(&stored, b"#!/bin/sh\nrm -rf ~\n").unwrap();
    std::fs::remove_file(&out).unwrap();
    let r = f.run("task_restore", &["calc"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused, the stored output"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(f.repo.join("calc/out/bin"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "nothing staged is left behind");
    let r = f.run("task_run", &["--restore"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // A task without a successful run for its inputs: nothing to restore.
    f.repo.write("calc/in.txt", "2");
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

/// A `docker` stand-in on PATH that appends each call to `calls` and fails a push to a
/// repository named `broken`. `pull` brings the image id in the file `registry` into the
/// "engine" (the file `engine`), and `image inspect` prints that id, or fails without one.
fn fake_docker(dir: &Path) -> Vec<(String, String)> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("docker");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> {d}/calls\ncase \"$*\" in\n\
             *broken*) echo denied >&2; exit 1;;\n\
             'pull '*) [ -f {d}/registry ] || {{ echo 'not found' >&2; exit 1; }}; cp {d}/registry {d}/engine;;\n\
             'image inspect '*) [ -f {d}/engine ] || {{ echo 'No such image' >&2; exit 1; }}; cat {d}/engine;;\n\
             esac\n",
            d = dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    vec![(
        "PATH".into(),
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    )]
}

#[test]
fn docker_image_outputs_are_tagged_and_pushed_with_the_docker_cli() {
    let image = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let output = "[[Task.Output.DockerImage]]\nidfile = \"image.id\"\n\
        [[Task.Output.DockerImage.RegistryUpload]]\nregistry = \"registry.example.com\"\n\
        repository = \"team/calc\"\ntag = \"{{ gitCommit }}\"\n\
        [[Task.Output.DockerImage.RegistryUpload]]\nrepository = \"calc\"\ntag = \"latest\"\n";
    let mut f = Fixture::committed(&[
        (
            "calc/.app.toml",
            &app(
                "calc",
                &task(
                    "image",
                    "[\"sh\", \"-c\", \"cp next.id image.id\"]",
                    &format!("{FILES}{output}"),
                ),
            ),
        ),
        ("calc/in.txt", "1"),
        (".gitignore", "image.id\nnext.id\n"),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    f.vars = fake_docker(tmp.path());
    f.repo.write("calc/next.id", &image(1));
    let r = f.run("task_run", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let commit = f.repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let calls = std::fs::read_to_string(tmp.path().join("calls")).unwrap();
    assert_eq!(
        calls,
        format!(
            "tag {i} registry.example.com/team/calc:{commit}\npush registry.example.com/team/calc:{commit}\n\
             tag {i} calc:latest\npush calc:latest\n",
            i = image(1)
        )
    );
    let run_id = ids(&f, &[])[0].clone();
    let rec: serde_json::Value =
        serde_json::from_str(&f.ok("task_show", &["--format", "json", &run_id])).unwrap();
    let out = &rec["outputs"][0];
    assert_eq!(out["name"], "docker:image.id");
    assert_eq!(
        out["digest"],
        image(1).as_str(),
        "the image id is the digest"
    );
    assert_eq!(
        out["uploads"][0]["uri"],
        format!("docker://registry.example.com/team/calc:{commit}")
    );
    assert!(out["uploads"][0]["duration_us"].is_u64(), "{out}");
    // Same inputs, another image id: reported apart, not an issue.
    f.repo.write("calc/next.id", &image(2));
    f.ok("task_run", &["--force"]);
    let v = f.run("task_verify", &[]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stdout
            .contains("docker images differ (never reproducible, not counted)"),
        "{}",
        v.stdout
    );
    // Restoring an image the engine lacks: pulled from where the run pushed it, checked to be
    // the recorded image, and its id file written.
    let idfile = f.repo.join("calc/image.id");
    let calls = tmp.path().join("calls");
    let pushed = format!("registry.example.com/team/calc:{commit}");
    let inspect = |what: &str| format!("image inspect --format {{{{.Id}}}} {what}\n");
    std::fs::remove_file(&idfile).unwrap();
    std::fs::write(&calls, "").unwrap();
    std::fs::write(tmp.path().join("registry"), image(2)).unwrap();
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&idfile).unwrap(), image(2));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        format!("{}pull {pushed}\n{}", inspect(&image(2)), inspect(&pushed))
    );
    assert!(
        r.stderr.contains(&format!(
            "calc.image: restored image.id: docker image {} pulled from {pushed}",
            image(2)
        )),
        "{}",
        r.stderr
    );
    // In the engine now: nothing pulled.
    std::fs::remove_file(&idfile).unwrap();
    std::fs::write(&calls, "").unwrap();
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), inspect(&image(2)));
    assert!(
        r.stderr.contains("already in the local engine"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&idfile).unwrap(), image(2));
    // The registry now serves another image under every recorded name: refused, no id file.
    std::fs::remove_file(&idfile).unwrap();
    std::fs::remove_file(tmp.path().join("engine")).unwrap();
    std::fs::write(tmp.path().join("registry"), image(9)).unwrap();
    let r = f.run("task_restore", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "image.id: image {} is not in the local docker engine and was not pulled: {pushed} is now image {}; calc:latest is now image {}",
            image(2),
            image(9),
            image(9)
        )),
        "{}",
        r.stderr
    );
    assert!(!idfile.exists());
    // A push that fails fails the run.
    f.repo.write(
        "calc/.app.toml",
        &app(
            "calc",
            &task(
                "image",
                "[\"sh\", \"-c\", \"cp next.id image.id\"]",
                &format!("{FILES}{}", output.replace("\"calc\"", "\"broken\"")),
            ),
        ),
    );
    let r = f.run("task_run", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("broken:latest failed (exit status: 1): denied"),
        "{}",
        r.stderr
    );
}

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
    assert_eq!(
        apps,
        serde_json::json!([{"AppName": "calc", "Path": "calc"}])
    );
    // ls runs and ls outputs.
    let runs = f.ok("baur", &["ls", "runs", "--csv", "calc.build"]);
    assert!(
        runs.starts_with(&format!("{id},calc,build,success,")),
        "{runs}"
    );
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
    assert_eq!(f.run("baur", &["frobnicate"]).code, 1);
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
        let out = f.run("task_runs", &["-s", sort]);
        assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{sort}");
        assert!(out.stderr.contains(message), "{sort}: {}", out.stderr);
    }
    // The original's command line.
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
        lines(&[r1, r3])
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
        "[\n  {\n    \"AppName\": \"calc\"\n  }\n]\n"
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
