//! A `ci3_server` behind a password, over a directory store, filled only by the tools a CI runs
//! against it (`CI3_SERVER` set, no store of their own): `task_run`, `run_test_cmd` with
//! `CI=1`, `cache_log` and `ci3_client run_put`.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::exe::exe;
use crate::common::pipeline::{finish, Out, Project, FLAKY_OWNED, HASH};
use crate::common::server::{basic, until, Server};
use crate::common::{command, tasks};
use serde_json::json;

pub const PASSWORD: &str = "s3cret";
pub const OK: &str = "./scripts/ok.sh";
pub const FLAKY: &str = "./scripts/flaky.sh unit";
pub const FAILING: &str = "./scripts/broken.sh e2e";

/// A hang guard, not a timing assertion: a tool that has said nothing for this long is broken.
const WITHIN: Duration = Duration::from_secs(120);

/// What the scripts do (`FLAKY` has an owner in `FLAKY_OWNED`, so its failures in CI are flakes):
/// `FLAKY` fails while `flake-now` exists; `FAILING` always fails, and waits on
/// the `gate` fifo when there is one, so it can be watched while it runs.
const SCRIPTS: [(&str, &str); 3] = [
    ("scripts/ok.sh", "echo fine\n"),
    (
        "scripts/flaky.sh",
        "if [ -e flake-now ]; then echo \"$1: connection reset\"; exit 1; fi\necho \"$1: ok\"\n",
    ),
    (
        "scripts/broken.sh",
        "printf '%s: \\033[31massertion failed\\033[0m\\n' \"$1\"\n\
         if [ -p gate ]; then cat gate >/dev/null; fi\nexit 1\n",
    ),
];

pub struct Site {
    pub server: Server,
    pub url: String,
    dir: tempfile::TempDir,
}

/// What the test pipeline left: its output as a CI job's log holds it, the failing test's log.
pub struct Pipeline {
    pub output: String,
    pub failing_log: String,
    _project: Project,
}

/// Two CI runs of section `next`: one finished (its log the pipeline's), one still running,
/// whose `cache_log` is still being written to.
pub struct CiRuns {
    /// The finished one's id, then the running one's.
    pub ids: [u64; 2],
    pub logs: [String; 2],
    live: Option<(Child, ChildStdin)>,
}

impl CiRuns {
    /// Another line for the running job's log.
    pub fn write(&mut self, text: &str) {
        let (_, stdin) = self.live.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for CiRuns {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.live.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Site {
    pub fn start() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let (server, url) = Server::guarded(dir.path(), PASSWORD);
        Site { server, url, dir }
    }

    /// The `Authorization` a browser sends for the site.
    pub fn authorization(&self) -> String {
        basic("aztec", PASSWORD)
    }

    /// The server's store directory.
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("server-store")
    }

    /// `cmd` pointed at the server as its only store, with the site's credentials and a cache
    /// directory of the site's own.
    fn through(&self, mut cmd: Command) -> Command {
        cmd.env_remove("CI3_STORE")
            .env("CI3_SERVER", &self.url)
            .env("CI3_PASSWORD", PASSWORD)
            .env("XDG_CACHE_HOME", self.dir.path().join("tools-xdg"));
        cmd
    }

    fn tool(&self, tool: &str, args: &[&str]) -> Command {
        let mut cmd = self.through(command(exe(tool)));
        cmd.args(args).current_dir(self.dir.path());
        cmd
    }

    fn ok(&self, mut cmd: Command, what: &str) -> Out {
        let out = finish(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        assert_eq!(out.code, 0, "{what}: {}", out.stderr);
        out
    }

    /// Two `task_run`s of `calc.build`, the input changed between them; their run ids, newest
    /// first, as `task_runs` reads them back through the server.
    pub fn task_runs(&self) -> (tasks::Fixture, Vec<String>) {
        let f = tasks::calc();
        let run = |f: &tasks::Fixture| {
            let cmd = self.through(f.cmd_in(f.repo.path(), "task_run", &[]));
            self.ok(cmd, "task_run");
        };
        run(&f);
        f.repo.write("calc/in.txt", "2");
        f.repo.commit_all("change the input");
        run(&f);
        // Recorded on the server, not in the fixture's own store.
        assert!(f.runs().is_empty());
        let cmd = self.through(f.cmd_in(f.repo.path(), "task_runs", &["-q"]));
        let ids: Vec<String> = self
            .ok(cmd, "task_runs")
            .stdout
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        (f, ids)
    }

    /// The test pipeline in CI: `OK` passes; `FLAKY` passes twice, then flakes; `FAILING` fails
    /// twice, the first time held at its gate until `during` (given its live log's id) returns.
    pub fn pipeline(&self, during: impl FnOnce(&str)) -> Pipeline {
        let mut p = Project::new(None);
        p.envs.retain(|(k, _)| k != "CI3_STORE");
        let root = p.root().to_path_buf();
        std::fs::write(root.join(".test_patterns.yml"), FLAKY_OWNED).unwrap();
        for (path, text) in SCRIPTS {
            p.repo.write(path, text);
            std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let vars = [
            ("CI3_SERVER", self.url.as_str()),
            ("CI3_PASSWORD", PASSWORD),
            ("CI", "1"),
            ("TRACK_TEST_HISTORY", "1"),
            ("COMMIT_AUTHOR", "Ann"),
            ("COMMIT_MSG", "fix the thing"),
        ];
        let line = |cmd: &str| format!("{HASH}:CPUS=1 {cmd}");
        let mut output = String::new();
        let mut keep = |out: &Out, code: i32| {
            assert_eq!(out.code, code, "{}", out.stderr);
            output.push_str(&out.stdout);
            output.push_str(&out.stderr);
        };
        keep(&p.run_test_cmd(&line(OK), &vars), 0);
        keep(&p.run_test_cmd(&line(FLAKY), &vars), 0);
        keep(&p.run_test_cmd(&line(FLAKY), &vars), 0);
        std::fs::write(root.join("flake-now"), "").unwrap();
        let flaked = p.run_test_cmd(&line(FLAKY), &vars);
        assert!(flaked.stdout.starts_with("FLAKED: "), "{}", flaked.stdout);
        keep(&flaked, 0);

        let gate = root.join("gate");
        assert!(Command::new("mkfifo")
            .arg(&gate)
            .status()
            .unwrap()
            .success());
        let (held, failing_log) = held_at_gate(&p, &line(FAILING), &vars, &self.url, &gate, during);
        keep(&held, 1);
        std::fs::remove_file(&gate).unwrap();
        keep(&p.run_test_cmd(&line(FAILING), &vars), 1);
        Pipeline {
            output,
            failing_log,
            _project: p,
        }
    }

    /// A CI job's log kept by `cache_log` as it is written, and the record `ci3_client
    /// run_put` leaves: the finished build's log is `finished_log`; the running deploy's
    /// `cache_log` still reads its first line.
    pub fn ci_runs(&self, finished_log: &str) -> CiRuns {
        let t = now();
        let ids = [t - 600, t - 60];
        let logs = ["ci-build-1".to_string(), "ci-deploy-2".to_string()];
        let mut cmd = self.tool("cache_log", &["next build", &logs[0]]);
        cmd.env("CI", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        crate::common::feed(&mut child, finished_log.as_bytes());
        let out = finish(child);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let finished = json!({"status": "FAILED", "msg": "Merge #12: faster builds",
            "name": "next build", "author": "Ann", "timestamp": ids[0], "complete": t - 300,
            "log_id": logs[0]});
        self.run_put(ids[0], &finished.to_string());

        let mut cmd = self.tool("cache_log", &["deploy", &logs[1]]);
        cmd.env("CI", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let running = json!({"status": "RUNNING", "msg": "<b>bold</b> claim", "author": "Bob",
            "name": "<script>document.title='pwned'</script>deploy", "timestamp": ids[1],
            "log_id": logs[1]});
        self.run_put(ids[1], &running.to_string());
        let mut runs = CiRuns {
            ids,
            logs,
            live: Some((child, stdin)),
        };
        runs.write("deploy step 1\n");
        runs
    }

    fn run_put(&self, id: u64, record: &str) {
        let mut cmd = self.tool("ci3_client", &["run_put", "next", &id.to_string()]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        crate::common::feed(&mut child, record.as_bytes());
        let out = finish(child);
        assert_eq!(out.code, 0, "run_put: {}", out.stderr);
    }

    /// A build in CI through the server: its artifact uploaded, then downloaded (a hit), each
    /// tool putting its ledger line into the server's store.
    pub fn build(&self) {
        let built = self.dir.path().join("built");
        std::fs::create_dir_all(&built).unwrap();
        std::fs::write(built.join("a.txt"), "artifact").unwrap();
        let name = "calc-0123456789abcdef.tar.gz";
        for (tool, dir) in [("cache_upload", "built"), ("cache_download", "got")] {
            let mut cmd = self.tool(tool, &[name, dir]);
            cmd.env("CI", "1");
            self.ok(cmd, tool);
        }
    }

    /// `text` kept by `cache_log` as log KEY.
    pub fn log(&self, key: &str, text: &[u8]) {
        let mut cmd = self.tool("cache_log", &["a job", key]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        crate::common::feed(&mut child, text);
        let out = finish(child);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }

    /// Waits until log KEY on the server holds `text` (a live log's first write comes a few
    /// seconds after its start, and a page shows a log only once there is one).
    pub fn until_log_holds(&self, key: &str, text: &str) {
        let auth = self.authorization();
        let headers = [("Authorization", auth.as_str())];
        until(&format!("log {key} holds {text:?}"), WITHIN, || {
            let got = self
                .server
                .ask("GET", &format!("/logs/{key}"), &headers, None);
            got.status == 200 && got.text().contains(text)
        });
    }
}

/// `run_test_cmd LINE` started, its `RUNNING (URL/ID): CMD` line awaited (its log is then on the
/// server), `during(ID)` called while the test still waits at `gate`, the gate opened; its
/// output (stdout, then stderr) and ID.
fn held_at_gate(
    p: &Project,
    line: &str,
    vars: &[(&str, &str)],
    url: &str,
    gate: &Path,
    during: impl FnOnce(&str),
) -> (Out, String) {
    let mut child = p
        .cmd("run_test_cmd", &[line], vars)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut first = Vec::new();
        let mut byte = [0u8];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            first.push(byte[0]);
        }
        tx.send(String::from_utf8(first).unwrap()).unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        rest
    });
    let Ok(first) = rx.recv_timeout(WITHIN) else {
        let _ = child.kill();
        std::fs::write(gate, "").unwrap();
        panic!("run_test_cmd said nothing while its test ran");
    };
    let id = first
        .strip_prefix(&format!("RUNNING ({url}/"))
        .and_then(|r| r.split_once("): "))
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| panic!("not a RUNNING line: {first:?}"));
    // Whatever `during` finds, the test is let through its gate: no process is left waiting.
    let watched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| during(&id)));
    if let Err(panic) = watched {
        std::fs::write(gate, "open\n").unwrap();
        let _ = child.wait();
        std::panic::resume_unwind(panic);
    }
    assert!(child.try_wait().unwrap().is_none(), "the test ended early");
    std::fs::write(gate, "open\n").unwrap();
    let rest = reader.join().unwrap();
    let mut out = finish(child);
    out.stdout = format!("{first}\n{rest}");
    (out, id)
}
