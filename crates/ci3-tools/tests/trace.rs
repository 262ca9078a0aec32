//! The tracer on real builds (issue 23): `cache_trace` and `task_run --trace`/`task_trace` on a
//! C project, a static Go binary, shell scripts, a process tree and a killed command.

mod common;

use common::tasks::{app, task, Fixture, BAUR};
use common::{command, run, Output, Repo};

/// `tool` must be on PATH: the build these tests trace needs it (.ci/run installs it).
fn need(tool: &str) {
    let found = run(command("sh").args(["-c", &format!("command -v {tool}")]));
    assert_eq!(
        found.code, 0,
        "{tool} is not installed: .ci/run installs it"
    );
}

fn cache_trace(repo: &Repo, args: &[&str]) -> Output {
    run(command(env!("CARGO_BIN_EXE_cache_trace"))
        .current_dir(repo.path())
        .args(args))
}

/// The stdout lines that start with `prefix`.
fn lines<'a>(out: &'a Output, prefix: &str) -> Vec<&'a str> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with(prefix))
        .collect()
}

fn c_project() -> Repo {
    need("cc");
    need("make");
    let repo = Repo::new();
    repo.write(
        "src/main.c",
        "#include \"config.h\"\nint main(void) { return VALUE; }\n",
    );
    repo.write("include/config.h", "#define VALUE 0\n");
    repo.write(
        "Makefile",
        "app: src/main.c\n\tcc -Iinclude -o app src/main.c\n",
    );
    repo.write(".gitignore", "app\n");
    repo.write(".rebuild_patterns", "^src/\n^Makefile$\n^docs/\n");
    repo.commit_all("c project");
    repo
}

#[test]
fn a_header_outside_the_patterns_is_reported_then_a_clean_project_exits_0() {
    let repo = c_project();
    let out = cache_trace(&repo, &["make -s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        lines(&out, "undeclared read:"),
        ["undeclared read: include/config.h (covered by: ^include/.*\\.h$)"]
    );
    assert_eq!(
        lines(&out, "never read:"),
        ["never read: ^docs/ (.rebuild_patterns:3)"]
    );
    // The compiler and its libraries are counted, not listed.
    assert_eq!(
        lines(&out, "outside the repository: ").len(),
        1,
        "{}",
        out.stdout
    );
    assert!(repo.join("app").is_file());

    // Fixed as suggested: nothing undeclared, exit 0.
    repo.write(".rebuild_patterns", "^src/\n^Makefile$\n^include/.*\\.h$\n");
    std::fs::remove_file(repo.join("app")).unwrap();
    let out = cache_trace(&repo, &["make -s"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(lines(&out, "undeclared read:"), Vec::<&str>::new());
    assert_eq!(lines(&out, "never read:"), Vec::<&str>::new());
    assert!(
        out.stderr
            .contains("0 undeclared reads, 0 never read, 0 written outside the outputs"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_static_go_binary_reading_a_data_file_is_traced() {
    need("go");
    let repo = Repo::new();
    repo.write("go.mod", "module example.com/reader\n\ngo 1.18\n");
    repo.write(
        "main.go",
        "package main\n\nimport \"os\"\n\nfunc main() {\n\tb, err := os.ReadFile(\"data/input.txt\")\n\
         \tif err != nil {\n\t\tos.Exit(3)\n\t}\n\tos.Stdout.Write(b)\n}\n",
    );
    repo.write("data/input.txt", "hello\n");
    repo.write(".gitignore", "reader\n");
    repo.commit_all("go");
    let build = "CGO_ENABLED=0 go build -buildvcs=false -o reader . && ./reader";
    let out = cache_trace(
        &repo,
        &["--format", "json", build, "^go\\.mod$", "^main\\.go$"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    // The program's own output goes to stderr: stdout is the findings.
    assert!(out.stderr.contains("hello\n"), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(json["exit"], 0);
    assert_eq!(
        json["undeclared"],
        serde_json::json!([{"path": "data/input.txt", "suggest": "^data/.*\\.txt$"}])
    );
    assert_eq!(json["unread"], serde_json::json!([]));
    // Static: no program interpreter (the dynamic loader) named in the binary.
    let binary = std::fs::read(repo.join("reader")).unwrap();
    assert!(
        !binary.windows(7).any(|w| w == b"ld-linu"),
        "reader is not static"
    );
}

#[test]
fn a_grandchild_is_followed_and_a_killed_command_is_reported_as_such() {
    let repo = Repo::new();
    repo.write("data/deep.txt", "deep\n");
    repo.write(".rebuild_patterns", "^nothing$\n");
    repo.commit_all("data");
    // bash forks sh, which forks cat: the file is read two processes down.
    let cmd = "sh -c 'cat data/deep.txt >/dev/null; true'; true";
    let out = cache_trace(&repo, &["--format", "json", cmd]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(json["undeclared"][0]["path"], "data/deep.txt");
    assert!(json["processes"].as_u64().unwrap() >= 3, "{}", out.stdout);

    let out = cache_trace(
        &repo,
        &[
            "--format",
            "json",
            "cat data/deep.txt >/dev/null; kill -9 $$",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(json["signal"], 9);
    assert_eq!(json["exit"], serde_json::Value::Null);
    assert!(
        out.stderr
            .contains("the command was killed by signal 9 (SIGKILL)\n"),
        "{}",
        out.stderr
    );
}

/// What a trace found that every way of seeing reads must agree on: the findings but the
/// reads outside the repository (fanotify names a library by the file it is, a notified open
/// by the name it was opened with: /lib/x.so against /usr/lib/x.so).
fn agreed(json: &serde_json::Value) -> serde_json::Value {
    let mut json = json.clone();
    let map = json.as_object_mut().unwrap();
    map.remove("outside");
    map.remove("reads");
    json
}

#[test]
fn fanotify_notification_and_ptrace_find_the_same() {
    let repo = c_project();
    let data = Repo::new();
    data.write("data/deep.txt", "deep\n");
    data.write(".rebuild_patterns", "^nothing$\n");
    data.commit_all("data");
    let runs: [(&Repo, &str); 3] = [
        (&repo, "make -s; rm -f app"),
        (&data, "sh -c 'cat data/deep.txt >/dev/null; true'; true"),
        (&data, "cat data/deep.txt >/dev/null; kill -9 $$"),
    ];
    for (repo, cmd) in runs {
        let found: Vec<serde_json::Value> = ["fanotify", "notify", "ptrace"]
            .iter()
            .map(|reads| {
                let out = run(command(env!("CARGO_BIN_EXE_cache_trace"))
                    .current_dir(repo.path())
                    .env("CI3_TRACE_READS", reads)
                    .args(["--format", "json", cmd]));
                assert_eq!(out.code, 1, "{reads} {cmd}: {}", out.stderr);
                let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
                assert_eq!(json["reads"], *reads);
                assert_ne!(json["undeclared"], serde_json::json!([]), "{reads} {cmd}");
                agreed(&json)
            })
            .collect();
        assert_eq!(found[0], found[1], "fanotify and notify, {cmd}");
        assert_eq!(found[1], found[2], "notify and ptrace, {cmd}");
    }
}

#[test]
fn fanotify_notification_and_ptrace_find_the_same_writes() {
    // Written by an open, by a rename, to a file removed while still open.
    let f = traced_app(
        "mkdir -p out ../elsewhere\necho ok > out/result.txt\n\
         cat src/main.c > ../elsewhere/leak.txt\n\
         echo y > ../elsewhere/t && mv ../elsewhere/t ../elsewhere/u\n\
         exec 3>../elsewhere/tmp.txt\nrm ../elsewhere/tmp.txt\n",
    );
    for reads in ["fanotify", "notify", "ptrace"] {
        let mut cmd = f.cmd_in(
            f.repo.path(),
            "task_run",
            &["--trace", "-s", "--format", "json"],
        );
        let out = run(cmd.env("CI3_TRACE_READS", reads));
        assert_eq!(out.code, 0, "{reads}: {}", out.stderr);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
        let written = [
            "elsewhere/leak.txt",
            "elsewhere/t",
            "elsewhere/tmp.txt",
            "elsewhere/u",
        ];
        assert_eq!(json[0]["written"], serde_json::json!(written), "{reads}");
        assert_eq!(json[0]["undeclared"], serde_json::json!([]), "{reads}");
        assert_eq!(json[0]["reads"], reads);
    }
}

/// Without `CAP_SYS_ADMIN` (dropped by setpriv from the bounding set, so that not even root
/// has it) the default notifies, and fanotify asked for is refused.
#[test]
fn without_cap_sys_admin_the_default_notifies_and_fanotify_is_refused() {
    need("setpriv");
    let repo = Repo::new();
    repo.write("data/deep.txt", "deep\n");
    repo.write(".rebuild_patterns", "^nothing$\n");
    repo.commit_all("data");
    let unprivileged = |reads: &str| {
        run(command("setpriv")
            .current_dir(repo.path())
            .env("CI3_TRACE_READS", reads)
            .args(["--bounding-set=-sys_admin", "--inh-caps=-sys_admin"])
            .arg(env!("CARGO_BIN_EXE_cache_trace"))
            .args(["--format", "json", "cat data/deep.txt"]))
    };
    let out = unprivileged("auto");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(json["reads"], "notify");
    assert_eq!(json["undeclared"][0]["path"], "data/deep.txt");
    let out = unprivileged("fanotify");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "cache_trace: CI3_TRACE_READS=fanotify: fanotify is not available here \
         (EPERM: Operation not permitted; it needs CAP_SYS_ADMIN): cannot trace\n"
    );
}

#[test]
fn a_way_of_seeing_reads_that_cannot_work_is_refused_in_one_line() {
    let repo = Repo::new();
    repo.write(".rebuild_patterns", "^src/\n");
    repo.commit_all("patterns");
    let refused = |reads: &str, args: &[&str], says: &str| {
        let out = run(command(env!("CARGO_BIN_EXE_cache_trace"))
            .current_dir(repo.path())
            .env("CI3_TRACE_READS", reads)
            .args(args));
        assert_eq!(out.code, 2, "{reads}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
    };
    refused(
        "strace",
        &["true"],
        "CI3_TRACE_READS=\"strace\": expected auto, fanotify, notify or ptrace",
    );
    refused(
        "fanotify",
        &["--probes", "true"],
        "CI3_TRACE_READS=fanotify cannot trace probes",
    );
}

/// An app `build` whose command is `sh build.sh`, its inputs `build.sh` and `src/*.c`.
fn traced_app(script: &str) -> Fixture {
    let inputs = "[Task.Input]\n[[Task.Input.Files]]\npaths = [\"build.sh\", \"src/*.c\"]\n\
                  [Task.Output]\n[[Task.Output.File]]\npath = \"out/result.txt\"\n";
    Fixture::committed(&[
        (".baur.toml", BAUR),
        (
            "app/.app.toml",
            &app("app", &task("build", "[\"sh\", \"build.sh\"]", inputs)),
        ),
        ("app/build.sh", script),
        (
            "app/src/main.c",
            "#include \"config.h\"\nint main(void) { return VALUE; }\n",
        ),
        ("include/config.h", "#define VALUE 0\n"),
        ("app/.gitignore", "out/\n"),
    ])
}

#[test]
fn task_trace_reports_an_undeclared_header_and_an_input_never_read() {
    need("cc");
    let f = traced_app(
        "mkdir -p out\ncc -I../include -c src/main.c -o out/main.o\necho ok > out/result.txt\n",
    );
    let out = run(&mut f.cmd_in(f.repo.path(), "task_run", &["--trace", "-s"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        lines(&out, "app.build: undeclared"),
        ["app.build: undeclared read: include/config.h (covered by: ../include/*.h)"]
    );
    assert_eq!(lines(&out, "app.build: never read"), Vec::<&str>::new());
    assert_eq!(lines(&out, "app.build: written"), Vec::<&str>::new());

    // task_trace is task_run --trace; a script that no longer reads src/main.c has it unread.
    let f = traced_app("mkdir -p out\necho ok > out/result.txt\n");
    let cmd = f.cmd_in(f.repo.path(), "task_run", &["-s", "--format", "json"]);
    let argv: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut trace = command(env!("CARGO_BIN_EXE_task_trace"));
    trace.current_dir(f.repo.path()).args(&argv);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => trace.env(k, v),
            None => trace.env_remove(k),
        };
    }
    let out = run(&mut trace);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(json[0]["task"], "app.build");
    assert_eq!(json[0]["unread"], serde_json::json!(["app/src/main.c"]));
    assert_eq!(json[0]["undeclared"], serde_json::json!([]));
}

#[test]
fn a_script_writing_outside_its_outputs_is_reported() {
    let f = traced_app("mkdir -p out ../elsewhere\necho ok > out/result.txt\necho leak > ../elsewhere/leak.txt\ncat src/main.c >/dev/null\n");
    let out = run(&mut f.cmd_in(f.repo.path(), "task_run", &["--trace", "-s"]));
    // Writing is reported; only an undeclared read fails the trace.
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        lines(&out, "app.build: written"),
        ["app.build: written outside the outputs: elsewhere/leak.txt"]
    );
    assert!(f.repo.join("elsewhere/leak.txt").is_file());
}

/// A traced script that traps SIGTERM (writing `trapped`), starts a `sleep 30` and writes its
/// pid to `ready`, then waits.
const TRAPS_TERM: &str = "trap 'echo term > trapped; exit 7' TERM\nsleep 30 &\necho $! > ready.tmp\nmv ready.tmp ready\nwait\n";

/// Runs `cmd` (a tracing tool on [`TRAPS_TERM`] run in `dir`), sends it SIGTERM once the
/// script is ready and returns its exit code; the script must have got the signal (its trap
/// ran) and its `sleep` must have ended with it.
fn terminated(mut cmd: std::process::Command, dir: &std::path::Path) -> Option<i32> {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let sleeper = loop {
        if let Ok(pid) = std::fs::read_to_string(dir.join("ready")) {
            break pid.trim().to_string();
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ended before its command was ready: {status:?}");
        }
        assert!(
            Instant::now() < deadline,
            "the traced script never got ready"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let kill = command("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("trapped")).ok().as_deref(),
        Some("term\n"),
        "the traced script did not get SIGTERM ({status:?})"
    );
    // The tool waits for every traced process: the sleep is gone, or a zombie its new parent
    // has not reaped yet.
    let state = std::fs::read_to_string(format!("/proc/{sleeper}/stat")).unwrap_or_default();
    let state = state.rsplit_once(") ").map_or("", |(_, s)| &s[..1]);
    assert!(
        state.is_empty() || state == "Z",
        "the traced sleep still runs"
    );
    status.code()
}

#[test]
fn sigterm_to_cache_trace_reaches_the_traced_tree_and_it_exits_143() {
    let repo = Repo::new();
    repo.write(".rebuild_patterns", "^nothing$\n");
    repo.write("traps.sh", TRAPS_TERM);
    repo.commit_all("script");
    let mut cmd = command(env!("CARGO_BIN_EXE_cache_trace"));
    cmd.current_dir(repo.path()).arg("bash traps.sh");
    assert_eq!(terminated(cmd, repo.path()), Some(143));
}

#[test]
fn sigterm_to_task_trace_reaches_the_traced_task_and_it_exits_143() {
    let f = traced_app(&format!("mkdir -p out\n{TRAPS_TERM}"));
    let cmd = f.cmd_in(f.repo.path(), "task_run", &["--trace", "-s"]);
    assert_eq!(terminated(cmd, &f.repo.join("app")), Some(143));
}

#[test]
fn relative_paths_follow_the_shell_into_a_directory_and_out() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.write("data/b.txt", "b\n");
    repo.write("data/sub/c.txt", "c\n");
    repo.write(".rebuild_patterns", "^nothing$\n");
    repo.commit_all("data");
    // The same shell reads each file itself, relative to a working directory that changes:
    // a working directory kept from before a cd would resolve b.txt and c.txt wrongly.
    let cmd = ": < a.txt; cd data; : < b.txt; cd sub && : < c.txt; cd ../..; : < data/b.txt";
    let out = cache_trace(&repo, &["--format", "json", cmd]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    let read: Vec<&str> = json["undeclared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].as_str().unwrap())
        .collect();
    assert_eq!(read, ["a.txt", "data/b.txt", "data/sub/c.txt"]);
}

/// A build that tests for a file nobody declared (`[ -f undeclared.flag ]`: missing, so its
/// appearance would change the build), stats a declared input without reading it, and reads
/// another.
const PROBING: &str =
    "[ -f undeclared.flag ] && exit 3; [ -f declared.txt ] || exit 4; cat main.txt";

fn probing_repo() -> Repo {
    let repo = Repo::new();
    repo.write("declared.txt", "declared\n");
    repo.write("main.txt", "main\n");
    repo.write(".rebuild_patterns", "^declared\\.txt$\n^main\\.txt$\n");
    repo.commit_all("probing");
    repo
}

/// The stdout lines but the summary of the reads outside the repository.
fn findings(out: &Output) -> Vec<&str> {
    out.stdout
        .lines()
        .filter(|l| !l.contains("outside the repository:"))
        .collect()
}

#[test]
fn a_probe_of_an_undeclared_file_is_reported_only_with_probes() {
    let repo = probing_repo();
    // The default stays fast: stat does not stop the tracee, no probe is reported.
    let out = cache_trace(&repo, &[PROBING]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        findings(&out),
        ["never read: ^declared\\.txt$ (.rebuild_patterns:1)"]
    );
    assert!(
        out.stderr.ends_with(
            "1 processes traced; 0 undeclared reads, 1 never read, 0 written outside the outputs\n"
        ),
        "{}",
        out.stderr
    );
    let out = cache_trace(&repo, &["--format", "json", PROBING]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(json.get("probed"), None, "{}", out.stdout);
    assert_eq!(json.get("undeclared_probes"), None, "{}", out.stdout);

    // --probes: the flag file is named, the stat of the declared input is not; the probes do
    // not change the exit code (nothing undeclared was read).
    let out = cache_trace(&repo, &["--probes", PROBING]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        findings(&out),
        [
            "undeclared probe: undeclared.flag (covered by: ^.*\\.flag$)",
            "never read: ^declared\\.txt$ (.rebuild_patterns:1)"
        ]
    );
    assert!(
        out.stderr
            .ends_with("0 written outside the outputs, 1 undeclared probes\n"),
        "{}",
        out.stderr
    );
    let out = cache_trace(&repo, &["--probes", "--format", "json", PROBING]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(
        json["probed"],
        serde_json::json!(["declared.txt", "undeclared.flag"])
    );
    assert_eq!(
        json["undeclared_probes"],
        serde_json::json!([{"path": "undeclared.flag", "suggest": "^.*\\.flag$"}])
    );
    assert_eq!(json["undeclared"], serde_json::json!([]));

    // Declared, the probe is covered even though the file does not exist.
    repo.write(
        ".rebuild_patterns",
        "^declared\\.txt$\n^main\\.txt$\n^undeclared\\.flag$\n",
    );
    let out = cache_trace(&repo, &["--probes", PROBING]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&out, "undeclared probe:"), Vec::<&str>::new());
}

#[test]
fn task_trace_probes_report_undeclared_probes_per_task() {
    // The script tests for a flag outside the app (undeclared), for a missing file its src/*.c
    // glob covers and for a declared input it never reads.
    let f = traced_app(
        "mkdir -p out\n[ -f ../undeclared.flag ] && exit 3\n[ -f src/extra.c ] && exit 4\n\
         [ -f src/main.c ] || exit 5\necho ok > out/result.txt\n",
    );
    let out = run(&mut f.cmd_in(f.repo.path(), "task_run", &["--trace", "-s"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&out, "app.build: undeclared"), Vec::<&str>::new());

    // -s records no run: the task runs each time.
    let args = ["--trace", "--probes", "-s"];
    let out = run(&mut f.cmd_in(f.repo.path(), "task_run", &args));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        lines(&out, "app.build: undeclared"),
        ["app.build: undeclared probe: undeclared.flag (covered by: ../*.flag)"]
    );
    assert!(
        out.stderr.contains(
            "app.build: 2 processes traced; 0 undeclared reads, 1 never read, \
             0 written outside the outputs, 1 undeclared probes\n"
        ),
        "{}",
        out.stderr
    );

    let args = ["--trace", "--probes", "-s", "--format", "json"];
    let out = run(&mut f.cmd_in(f.repo.path(), "task_run", &args));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(
        json[0]["probed"],
        serde_json::json!(["app/src/extra.c", "app/src/main.c", "undeclared.flag"])
    );
    assert_eq!(
        json[0]["undeclared_probes"],
        serde_json::json!([{"path": "undeclared.flag", "suggest": "../*.flag"}])
    );
}

#[test]
fn probes_needs_trace_and_is_in_each_tools_help() {
    let f = traced_app("true\n");
    let out = run(&mut f.cmd_in(f.repo.path(), "task_run", &["--probes"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--trace"), "{}", out.stderr);
    for tool in [
        env!("CARGO_BIN_EXE_cache_trace"),
        env!("CARGO_BIN_EXE_task_run"),
        env!("CARGO_BIN_EXE_task_trace"),
    ] {
        let out = run(command(tool).arg("--help"));
        assert_eq!(out.code, 0, "{tool}: {}", out.stderr);
        assert!(out.stdout.contains("--probes"), "{tool}: {}", out.stdout);
    }
}

#[test]
fn the_trace_demo_finds_and_fixes_the_undeclared_input_the_readme_shows() {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(top.join("README.md")).unwrap();
    // The README's block of the demo's output, between its fences.
    let start = readme
        .find("```\n=== task_trace site.build")
        .expect("README shows no output of examples/trace-demo.sh");
    let block = &readme[start + 4..];
    let block = &block[..block.find("```").unwrap()];
    let out = run(command("bash")
        .arg(top.join("examples/trace-demo.sh"))
        .current_dir(std::env::temp_dir()));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, block);
    assert!(
        out.stdout
            .contains("undeclared read: common/footer.html (covered by: ../common/*.html)\n"),
        "{}",
        out.stdout
    );
}
