//! `ci3_server start|stop|status` (spec 3.3): start reuses a server with the same configuration
//! and refuses one with another or a foreign listener, stop signals only our server, status says
//! what answers; pid and log under `$XDG_CACHE_HOME/ci3/server-PORT/`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::exe::exe;
use common::server::{dir_store, free_port, health};
use common::{command, run, Output};

/// A place for a started server, which is stopped (or killed) at the end however the test went.
struct Place {
    dir: tempfile::TempDir,
    port: u16,
}

impl Place {
    fn new() -> Place {
        Place {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }

    fn xdg(&self) -> PathBuf {
        self.dir.path().join("xdg")
    }

    fn server_dir(&self) -> PathBuf {
        self.xdg().join(format!("ci3/server-{}", self.port))
    }

    fn store(&self, name: &str) -> String {
        dir_store(&self.dir.path().join(name))
    }

    fn cmd(&self, action: &str, store: &str) -> Command {
        let mut cmd = command(exe("ci3_server"));
        cmd.args([action, "--port", &self.port.to_string(), "--store", store])
            .env("XDG_CACHE_HOME", self.xdg());
        cmd
    }

    fn run(&self, action: &str, store: &str) -> Output {
        run(&mut self.cmd(action, store))
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.server_dir().join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(pid) = self.pid().filter(|&pid| alive(pid)) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// Whether the process lives (a zombie does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
        .is_some_and(|zombie| !zombie)
}

#[test]
fn start_reuses_status_reports_stop_stops() {
    let place = Place::new();
    let store = place.store("store");
    let url = format!("http://localhost:{}", place.port);

    let none = place.run("status", &store);
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert!(
        none.stderr
            .contains(&format!("no ci3 server on port {}", place.port)),
        "{}",
        none.stderr
    );

    let started = place.run("start", &store);
    assert_eq!(started.code, 0, "{}", started.stderr);
    assert_eq!(started.stdout, format!("{url}\n"));
    let pid = place.pid().expect("a pid file once the port is held");
    assert!(alive(pid));
    assert!(place.server_dir().join("log").is_file());
    let identity = health(place.port).expect("it answers");
    assert_eq!(
        identity,
        format!("ci3-rs/1 store={store} auth=none reads=auth")
    );

    // The same configuration: the running server is reused.
    let again = place.run("start", &store);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, format!("{url}\n").as_str()),
        "{}",
        again.stderr
    );
    assert_eq!(place.pid(), Some(pid));

    // Another configuration on the port: refused, naming both.
    let other = place.store("other");
    let refused = place.run("start", &other);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains(&identity), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!("store={other}")),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stdout, "");

    let status = place.run("status", &store);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.stdout, format!("{url}\n{identity}\n"));

    let stopped = place.run("stop", &store);
    assert_eq!(stopped.code, 0, "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains(&format!("stopped ci3_server (pid {pid})")),
        "{}",
        stopped.stderr
    );
    assert!(!alive(pid), "the server is gone when stop returns");
    assert_eq!(place.pid(), None, "and its pid file");
    assert_eq!(health(place.port), None);
    assert_eq!(place.run("status", &store).code, 1);

    let twice = place.run("stop", &store);
    assert_eq!(twice.code, 0, "{}", twice.stderr);
    assert!(
        twice.stderr.contains("no ci3_server running on port"),
        "{}",
        twice.stderr
    );
}

#[test]
fn start_refuses_a_foreign_listener() {
    let place = Place::new();
    let listener = std::net::TcpListener::bind(("127.0.0.1", place.port)).unwrap();
    // Something that answers HTTP, but not as a ci3 server.
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
        }
    });
    let store = place.store("store");
    let refused = place.run("start", &store);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "port {} is taken by something that is not a ci3 server",
            place.port
        )),
        "{}",
        refused.stderr
    );
    let status = place.run("status", &store);
    assert_eq!(status.code, 1);
    assert!(
        status.stderr.contains("not a ci3 server"),
        "{}",
        status.stderr
    );
}

#[test]
fn stop_signals_only_our_server() {
    let place = Place::new();
    let store = place.store("store");
    let mut bystander = Command::new("sleep").arg("600").spawn().unwrap();
    std::fs::create_dir_all(place.server_dir()).unwrap();
    std::fs::write(place.server_dir().join("pid"), bystander.id().to_string()).unwrap();
    let refused = place.run("stop", &store);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "names process {}, which is not the ci3 server",
            bystander.id()
        )),
        "{}",
        refused.stderr
    );
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the bystander lives"
    );
    bystander.kill().unwrap();
    bystander.wait().unwrap();
    // A pid file left by a server that was killed: nothing to stop, the file cleared.
    let stale = place.run("stop", &store);
    assert_eq!(stale.code, 0, "{}", stale.stderr);
    assert_eq!(place.pid(), None);
}

#[test]
fn two_racing_starters_share_one_server() {
    let place = Place::new();
    let store = place.store("store");
    let mut first = place.cmd("start", &store);
    let mut second = place.cmd("start", &store);
    let a = first
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = second
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let url = format!("http://localhost:{}\n", place.port);
    for out in [&a, &b] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), url);
    }
    let pid = place.pid().unwrap();
    assert!(alive(pid));
    assert_eq!(place.run("stop", &store).code, 0);
    assert!(!alive(pid));
}
