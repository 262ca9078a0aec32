//! A real `ci3_server run` on a free loopback port over a store, and an HTTP/1.1 client on a
//! raw `TcpStream`, so that tests see the exact bytes of every answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::command;
use super::exe::exe;

/// How long a server under a loaded test machine may take to answer its first `/health`.
const UP_WITHIN: Duration = Duration::from_secs(60);

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `file://DIR`
pub fn dir_store(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// A prefix of its own in the S3 test bucket (`bash ci3/run_tests` starts the server).
pub fn s3_store(test: &str) -> String {
    format!(
        "s3://{}/server-{test}-{}/",
        super::s3_var("CI3_S3_BUCKET"),
        std::process::id()
    )
}

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    /// Its `XDG_CACHE_HOME`: pid file, multipart journal.
    pub xdg: PathBuf,
    args: Vec<String>,
    log: PathBuf,
}

impl Server {
    /// A server over a directory store under `dir` that asks `password` of every client, as
    /// upstream's CI servers do; its base URL beside it.
    pub fn guarded(dir: &Path, password: &str) -> (Server, String) {
        let file = dir.join("password");
        std::fs::write(&file, password).unwrap();
        let server = Server::run(
            &dir_store(&dir.join("server-store")),
            &dir.join("xdg"),
            &["--password-file", &file.display().to_string()],
        );
        let url = format!("http://127.0.0.1:{}", server.port);
        (server, url)
    }

    /// `ci3_server run --store STORE ARGS...` with its state under `xdg`, answering `/health`.
    pub fn run(store: &str, xdg: &Path, args: &[&str]) -> Server {
        let mut all = vec!["--store".to_string(), store.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        // A port found free may be taken before the server binds it: then another.
        for _ in 0..5 {
            let mut server = Server {
                child: None,
                port: free_port(),
                xdg: xdg.to_path_buf(),
                args: all.clone(),
                log: PathBuf::new(),
            };
            if server.spawn() {
                return server;
            }
        }
        panic!("no free port for ci3_server in 5 attempts");
    }

    /// Starts the process; whether it answers (false: it lost the port).
    fn spawn(&mut self) -> bool {
        std::fs::create_dir_all(&self.xdg).unwrap();
        self.log = self.xdg.join(format!("server-{}.log", self.port));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = command(exe("ci3_server"));
        cmd.arg("run")
            .args(["--port", &self.port.to_string()])
            .args(&self.args)
            .env("XDG_CACHE_HOME", &self.xdg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn ci3_server"));
        let deadline = Instant::now() + UP_WITHIN;
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                assert!(
                    log.contains("cannot listen"),
                    "ci3_server run exited ({status}): {log}"
                );
                self.child = None;
                return false;
            }
            if health(self.port).is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "ci3_server on port {} did not answer within {UP_WITHIN:?}",
            self.port
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, as a crash or an OOM kill would end it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts it again on the same port with the same arguments.
    pub fn restart(&mut self) {
        self.kill();
        assert!(self.spawn(), "port {} was taken meanwhile", self.port);
    }

    /// An answer to one request (`Connection: close`).
    pub fn ask(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Answer {
        ask(self.port, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Answer {
        self.ask("GET", path, &[], None)
    }

    pub fn put(&self, path: &str, body: &[u8]) -> Answer {
        self.ask("PUT", path, &[], Some(body))
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Answer {
        self.ask("POST", path, &[], Some(body))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP answer as it came.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a connection of its own, its answer read to the end. Every answer must carry
/// a `Content-Length` that its body matches (a 204 has neither, as RFC 9110 has it).
pub fn ask(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    let answer = parse(&raw(port, &bytes, false));
    match answer.status {
        204 => assert_eq!(answer.header("content-length"), None),
        _ => {
            let length = answer
                .header("content-length")
                .unwrap_or_else(|| panic!("no Content-Length: {answer:?}"));
            if method != "HEAD" {
                assert_eq!(length, answer.body.len().to_string(), "{answer:?}");
            }
        }
    }
    answer
}

/// Sends `bytes` as they are (shutting the sending side after them when `shut`) and reads the
/// answer until the server closes the connection.
pub fn raw(port: u16, bytes: &[u8], shut: bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    // A server may answer and close before taking all of a refused body.
    let _ = stream.write_all(bytes);
    if shut {
        stream.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

/// An answer's status, headers and body from its bytes.
pub fn parse(bytes: &[u8]) -> Answer {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

/// The `X-CI3-Server` of the ci3 server on the port, if one answers.
pub fn health(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).ok()?;
    let answer = parse(&out);
    (answer.status == 200 && answer.body == b"ci3-server").then(|| {
        answer
            .header("x-ci3-server")
            .unwrap_or_default()
            .to_string()
    })
}

/// Polls `condition` until it holds, failing with `what` after `within`.
pub fn until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `Basic` credentials of `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(match i <= chunk.len() {
                true => ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char,
                false => '=',
            });
        }
    }
    out
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
