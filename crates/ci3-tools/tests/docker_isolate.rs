//! `docker_isolate`, `docker_has_image` and `ISOLATE=1` test lines against a real docker engine
//! (test_docker's, started once per test run): limits and network seen from inside the
//! container, exit statuses, and no container left behind by a timeout or a signal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::docker::{engine, Engine};
use common::pipeline::{Project, HASH};
use common::{run, toolbox, Output, Repo};

/// `PATH` with the toolbox first, so that `run_test_cmd` finds `docker_isolate` there.
fn path_with_toolbox() -> String {
    format!(
        "{}:{}",
        toolbox().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `docker_isolate CMD` from `dir`, with `home` as `$HOME` and `envs`.
fn isolate(e: &Engine, dir: &Path, home: &Path, cmd: &str, envs: &[(&str, &str)]) -> Command {
    let mut c = e.command("bash");
    c.arg(toolbox().join("docker_isolate"))
        .arg(cmd)
        .current_dir(dir)
        .env("HOME", home)
        .envs(envs.iter().copied());
    for var in [
        "CPUS",
        "MEM",
        "CPU_LIST",
        "NET",
        "NAME",
        "ENV_VARS_TO_INJECT",
        "TMPFS_SIZE",
        "USE_HOME_TMP",
    ] {
        if !envs.iter().any(|(k, _)| *k == var) {
            c.env_remove(var);
        }
    }
    c
}

/// `run_test_cmd LINE` in `p` against the engine, with `home` as `$HOME`.
fn run_test_cmd(e: &Engine, p: &Project, home: &Path, line: &str) -> Output {
    let mut cmd = p.cmd("run_test_cmd", &[line], &[]);
    cmd.envs(e.vars.iter().map(|(k, v)| (k, v)))
        .env("PATH", path_with_toolbox())
        .env("HOME", home)
        .env("CPU_LIST", "0");
    run(&mut cmd)
}

/// The lines under a `FAILED:` line (its seconds are not asserted), which must end `suffix`.
fn failed_output<'a>(out: &'a Output, suffix: &str) -> &'a str {
    let (first, rest) = out.stdout.split_once('\n').unwrap_or((&out.stdout, ""));
    assert!(
        first.starts_with("FAILED: ") && first.ends_with(suffix),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    rest
}

fn uid_gid() -> String {
    let out = run(Command::new("id").arg("-u"));
    let gid = run(Command::new("id").arg("-g"));
    format!("{}:{}", out.line(), gid.line())
}

/// The cgroup limits as `CPU_QUOTA CPU_PERIOD`, the memory limit in bytes and the cpuset, read
/// inside the container from cgroup v2's files or v1's.
const LIMITS: &str = "if [ -f /sys/fs/cgroup/cpu.max ]; then \
    cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpuset.cpus.effective; \
    else echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); \
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpuset/cpuset.cpus; fi";

#[test]
fn an_isolated_line_runs_in_a_container_with_its_limits_and_no_network() {
    let e = engine();
    let p = Project::new(None);
    let home = tempfile::tempdir().unwrap();
    let s3 = common::s3_var("CI3_S3_ENDPOINT");
    let port = s3.rsplit(':').next().unwrap();
    // The host reaches the S3 server's port; the container must not.
    std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("the S3 server answers");
    let line = format!(
        "{HASH}:ISOLATE=1:CPUS=1:MEM=300m:NAME=iso-limits {LIMITS}; ls /sys/class/net; \
         (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo reached || echo unreachable; \
         echo \"$CPUS $MEM $NAME $TIMEOUT\"; pwd; echo $(id -u):$(id -g); exit 7"
    );
    let out = run_test_cmd(e, &p, home.path(), &line);
    assert_eq!(out.code, 7, "{}\n{}", out.stdout, out.stderr);
    let root = p.root().canonicalize().unwrap();
    assert_eq!(
        failed_output(&out, "(code: 7)"),
        format!(
            "100000 100000\n{}\n0\nlo\nunreachable\n1 300m iso-limits 600s\n{}\n{}\n",
            300 * 1024 * 1024,
            root.display(),
            uid_gid()
        )
    );
    assert_eq!(e.containers_named("iso-limits"), Vec::<String>::new());
}

#[test]
fn an_isolated_line_is_stopped_with_its_container_at_its_timeout() {
    let e = engine();
    let p = Project::new(None);
    let home = tempfile::tempdir().unwrap();
    let line = format!("{HASH}:ISOLATE=1:TIMEOUT=5s:NAME=iso-timeout touch started; sleep 300");
    let out = run_test_cmd(e, &p, home.path(), &line);
    assert_eq!(out.code, 124, "{}\n{}", out.stdout, out.stderr);
    let rest = failed_output(&out, "(code: 124)");
    assert!(
        rest.contains("timeout: sending signal TERM to command 'bash' (TIMEOUT=5s)"),
        "{rest}"
    );
    assert!(
        p.root().join("started").exists(),
        "the command never ran in its container"
    );
    assert_eq!(e.containers_named("iso-timeout"), Vec::<String>::new());
}

#[test]
fn docker_isolate_passes_exit_statuses_and_streams_through() {
    let e = engine();
    let repo = Repo::new();
    let home = tempfile::tempdir().unwrap();
    for code in [0, 3, 42] {
        let script = format!("echo out; echo err >&2; exit {code}");
        let mut cmd = isolate(
            e,
            repo.path(),
            home.path(),
            &script,
            &[("NAME", "iso-codes")],
        );
        let out = run(&mut cmd);
        assert_eq!(out.code, code, "{}", out.stderr);
        assert_eq!(out.stdout, "out\n");
        assert!(out.stderr.contains("err\n"), "{}", out.stderr);
        assert_eq!(e.containers_named("iso-codes"), Vec::<String>::new());
    }
}

#[test]
fn docker_isolate_mounts_injects_and_replaces_a_container_of_its_name() {
    let e = engine();
    let repo = Repo::new();
    let home = tempfile::tempdir().unwrap();
    // A container already holding the name: removed first, as the original does.
    e.docker_ok(&["create", "--name", "iso-knobs", e.image(), "true"]);
    let script =
        "echo \"$FOO ${UNSET-unset} $CPUS $MEM\"; df -k /tmp | awk 'NR == 2 { print $2 }'; \
                  echo home > \"$HOME/from-container\"; pwd; ls /sys/class/net";
    let mut cmd = isolate(
        e,
        repo.path(),
        home.path(),
        script,
        &[
            ("NAME", "/iso-knobs"),
            ("FOO", "bar"),
            ("ENV_VARS_TO_INJECT", "FOO UNSET"),
            ("TMPFS_SIZE", "16m"),
            ("CPUS", "1"),
        ],
    );
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = repo.path().canonicalize().unwrap();
    assert_eq!(
        out.stdout,
        format!("bar unset 1 4g\n16384\n{}\nlo\n", dir.display())
    );
    let written = home.path().join("from-container");
    assert_eq!(std::fs::read_to_string(written).unwrap(), "home\n");
    assert_eq!(e.containers_named("iso-knobs"), Vec::<String>::new());
    // USE_HOME_TMP=1: $HOME/tmp is the container's /tmp.
    let mut cmd = isolate(
        e,
        repo.path(),
        home.path(),
        "echo kept > /tmp/f",
        &[("USE_HOME_TMP", "1"), ("NAME", "iso-knobs")],
    );
    assert_eq!(run(&mut cmd).code, 0);
    let kept = home.path().join("tmp/f");
    assert_eq!(std::fs::read_to_string(kept).unwrap(), "kept\n");
}

/// A child killed and reaped if the test fails before it ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to a minute for `path` to exist; fails saying what it waited for.
fn await_file(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{what} ({}) did not appear within 60 s",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn docker_isolate_removes_its_container_on_sigterm() {
    let e = engine();
    let repo = Repo::new();
    let home = tempfile::tempdir().unwrap();
    let fifo: PathBuf = repo.join("fifo");
    let made = run(Command::new("mkfifo").arg(&fifo));
    assert_eq!(made.code, 0, "{}", made.stderr);
    // Ready once inside the container, then blocked on a fifo nobody writes.
    let script = "pwd > ready.tmp && mv ready.tmp ready; read x < fifo; echo unblocked";
    let mut cmd = isolate(
        e,
        repo.path(),
        home.path(),
        script,
        &[("NAME", "iso-sigterm")],
    );
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reaped(child);
    await_file(&repo.join("ready"), "the container's ready file");
    assert_eq!(e.containers_named("iso-sigterm"), ["iso-sigterm"]);
    let pid = child.0.id().to_string();
    let kill = run(Command::new("kill").args(["-TERM", &pid]));
    assert_eq!(kill.code, 0, "{}", kill.stderr);
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(143), "docker_isolate's exit status");
    assert_eq!(e.containers_named("iso-sigterm"), Vec::<String>::new());
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(!stdout.contains("unblocked"), "{stdout}");
}

#[test]
fn docker_has_image_matches_local_repository_tags() {
    let e = engine();
    let has = |image: &str| {
        let mut cmd = e.command("bash");
        cmd.arg(toolbox().join("docker_has_image")).arg(image);
        run(&mut cmd).code
    };
    let (repository, _) = e.image().split_once(':').unwrap();
    assert_eq!(has(e.image()), 0);
    assert_eq!(has(repository), 0);
    assert_eq!(has("ci3-no-such-image"), 1);
}
