//! `ci3_server start|stop|status`: a server found by its `/health` answer and compared by its
//! `X-CI3-Server`, one started detached (`run`, its log and pid file under
//! `$XDG_CACHE_HOME/ci3/server-PORT/`), one stopped only once its pid is seen to be our server
//! on that port.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{is_loopback, Options, DEFAULT_PORT};
use crate::error::{Error, Kind, Result};
use crate::report::Reporter;
use crate::settings::Settings;

/// How long `start` waits for the server it spawned to answer.
const START_WAIT: Duration = Duration::from_secs(10);
/// How long a port held by something silent is given to turn out a racing starter's server.
const RACE_WAIT: Duration = Duration::from_secs(3);
const STEP: Duration = Duration::from_millis(100);

/// The pid file of a running server, removed when it stops.
pub struct PidFile(PathBuf);

impl PidFile {
    pub fn write(dir: &Path) -> Result<PidFile> {
        let path = dir.join("pid");
        let fail =
            |e: std::io::Error| Error::io(&path, format!("cannot write {}: {e}", path.display()));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let mut tmp = crate::scratch::file_in(dir, "pid").map_err(fail)?;
        write!(tmp, "{}", std::process::id()).map_err(fail)?;
        tmp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(PidFile(path))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if read_pid(&self.0) == Some(std::process::id()) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The URL clients on this machine reach a server at.
fn url(options: &Options) -> String {
    let host = options.host.as_str();
    if is_loopback(host) || host == "0.0.0.0" || host == "::" || host == "[::]" {
        format!("http://localhost:{}", options.port)
    } else {
        format!("http://{host}:{}", options.port)
    }
}

/// The address a probe connects to.
fn probe_addr(options: &Options) -> String {
    let host = options.host.trim_start_matches('[').trim_end_matches(']');
    match host {
        "0.0.0.0" | "localhost" => format!("127.0.0.1:{}", options.port),
        "::" => format!("[::1]:{}", options.port),
        h if h.contains(':') => format!("[{h}]:{}", options.port),
        h => format!("{h}:{}", options.port),
    }
}

/// What answers on the port.
enum Found {
    /// A ci3 server, with its `X-CI3-Server`.
    Server(String),
    /// A listener that is no ci3 server.
    Foreign,
    Nothing,
}

/// Asks `GET /health` on the port.
fn probe(options: &Options) -> Found {
    let addr = probe_addr(options);
    let Ok(mut stream) = addr
        .parse()
        .map_err(|_| ())
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).map_err(|_| ()))
    else {
        return Found::Nothing;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return Found::Foreign;
    }
    let mut answer = Vec::new();
    let _ = stream.take(64 << 10).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Found::Foreign;
    };
    let mut lines = head.split("\r\n");
    let ok = lines
        .next()
        .is_some_and(|status| status.split(' ').nth(1) == Some("200"));
    if !ok || body != "ci3-server" {
        return Found::Foreign;
    }
    let identity = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("x-ci3-server"))
        .map(|(_, value)| value.trim().to_string());
    Found::Server(identity.unwrap_or_default())
}

/// A found server's answer to `start`: its URL if it is the one wanted.
fn reuse(options: &Options, found: &str, wanted: &str) -> Result<String> {
    if found != wanted {
        return Err(Error::new(
            Kind::Failed,
            format!(
                "port {} has a ci3 server with a different configuration ({found}), wanted \
                 ({wanted}); stop it first",
                options.port
            ),
        ));
    }
    Ok(url(options))
}

/// Starts a server detached unless one with this configuration answers on the port; its URL.
pub fn start(
    options: &Options,
    settings: &Settings,
    reporter: Arc<dyn Reporter>,
) -> Result<String> {
    let wanted = super::context(options, settings, reporter)?.identity;
    match probe(options) {
        Found::Server(found) => return reuse(options, &found, &wanted),
        Found::Foreign => {
            // Parallel starters: the one that won the port may still be coming up.
            let deadline = Instant::now() + RACE_WAIT;
            while Instant::now() < deadline {
                std::thread::sleep(STEP);
                if let Found::Server(found) = probe(options) {
                    return reuse(options, &found, &wanted);
                }
            }
            return Err(Error::new(
                Kind::Failed,
                format!(
                    "port {} is taken by something that is not a ci3 server",
                    options.port
                ),
            ));
        }
        Found::Nothing => {}
    }
    let dir = settings.state().server(options.port);
    let log_path = dir.join("log");
    let log_error = |e: std::io::Error| {
        Error::io(
            &log_path,
            format!("cannot write {}: {e}", log_path.display()),
        )
    };
    std::fs::create_dir_all(&dir).map_err(log_error)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(log_error)?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::new(Kind::Failed, format!("cannot find this executable: {e}")))?;
    let mut command = std::process::Command::new(exe);
    command
        .args(run_args(options))
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(log_error)?)
        .stderr(log);
    // Its own process group: the starter's terminal and its Ctrl-C are not the server's.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| Error::new(Kind::Failed, format!("cannot start ci3_server run: {e}")))?;
    let deadline = Instant::now() + START_WAIT;
    let mut exited: Option<Instant> = None;
    while Instant::now() < deadline {
        if let Found::Server(found) = probe(options) {
            return reuse(options, &found, &wanted);
        }
        if exited.is_none() && child.try_wait().ok().flatten().is_some() {
            exited = Some(Instant::now());
        }
        // Lost the port to a racing starter: its server may yet answer.
        if exited.is_some_and(|at| at.elapsed() > RACE_WAIT) {
            break;
        }
        std::thread::sleep(STEP);
    }
    Err(Error::new(
        Kind::Failed,
        format!("ci3_server failed to start; see {}", log_path.display()),
    ))
}

/// The command line of `ci3_server run` with these options.
fn run_args(options: &Options) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "run".into(),
        "--host".into(),
        options.host.clone().into(),
        "--port".into(),
        options.port.to_string().into(),
        "--user".into(),
        options.user.clone().into(),
        "--max-ttl".into(),
        options.max_ttl.to_string().into(),
        "--max-artifact-size".into(),
        options.max_artifact_size.to_string().into(),
    ];
    if let Some(store) = &options.store {
        args.extend(["--store".into(), store.into()]);
    }
    if let Some(file) = &options.password_file {
        args.extend(["--password-file".into(), absolute(file)]);
    }
    if let Some(file) = &options.token_file {
        args.extend(["--token-file".into(), absolute(file)]);
    }
    if options.public_reads {
        args.push("--public-reads".into());
    }
    if options.allow_anonymous {
        args.push("--allow-anonymous".into());
    }
    if options.redirect_reads {
        args.push("--redirect-reads".into());
    }
    if options.clock_offset != 0 {
        args.push(format!("--clock-offset={}", options.clock_offset).into());
    }
    args
}

fn absolute(path: &Path) -> OsString {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .into_os_string()
}

/// What `stop` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// The server with this pid was stopped.
    Stopped(u32),
    /// No server of ours was running on the port.
    NotRunning,
}

/// Stops the server `start` (or `run`) left on the port: SIGTERM, once the pid file's process
/// is seen to be `ci3_server run` on that port; then waits for it to be gone.
pub fn stop(options: &Options, settings: &Settings) -> Result<Stopped> {
    let path = settings.state().server(options.port).join("pid");
    let Some(pid) = read_pid(&path) else {
        return Ok(Stopped::NotRunning);
    };
    let Some(argv) = command_line(pid) else {
        // Gone without removing its pid file (killed): nothing to stop.
        let _ = std::fs::remove_file(&path);
        return Ok(Stopped::NotRunning);
    };
    if !is_our_server(&argv, options.port) {
        return Err(Error::new(
            Kind::Failed,
            format!(
                "{} names process {pid}, which is not the ci3 server on port {}; not stopping it",
                path.display(),
                options.port
            ),
        ));
    }
    // SAFETY: a plain kill(2) of a pid just checked to be ours.
    if unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) } != 0 {
        return Ok(Stopped::NotRunning);
    }
    let deadline = Instant::now() + START_WAIT;
    while command_line(pid).is_some() && Instant::now() < deadline {
        std::thread::sleep(STEP);
    }
    if command_line(pid).is_some() {
        return Err(Error::new(
            Kind::Failed,
            format!("ci3_server (pid {pid}) did not stop within 10 s"),
        ));
    }
    let _ = std::fs::remove_file(&path);
    Ok(Stopped::Stopped(pid))
}

/// The arguments of a live process (`None` when gone, a zombie included).
fn command_line(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Whether `argv` is `ci3_server run` on `port`.
fn is_our_server(argv: &[String], port: u16) -> bool {
    let exe = argv.first().and_then(|a| Path::new(a).file_name());
    if exe.is_none_or(|name| name != "ci3_server") || !argv.iter().any(|a| a == "run") {
        return false;
    }
    let mut its_port = DEFAULT_PORT.to_string();
    for (i, arg) in argv.iter().enumerate() {
        if let Some(value) = arg.strip_prefix("--port=") {
            its_port = value.to_string();
        } else if arg == "--port" {
            its_port = argv.get(i + 1).cloned().unwrap_or_default();
        }
    }
    its_port == port.to_string()
}

/// The running server's URL and `X-CI3-Server`, or a miss when none answers on the port.
pub fn status(options: &Options) -> Result<(String, String)> {
    match probe(options) {
        Found::Server(identity) => Ok((url(options), identity)),
        Found::Foreign => Err(Error::new(
            Kind::Miss,
            format!(
                "port {} is taken by something that is not a ci3 server",
                options.port
            ),
        )),
        Found::Nothing => Err(Error::new(
            Kind::Miss,
            format!("no ci3 server on port {}", options.port),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_server_by_its_command_line() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(is_our_server(&argv("/x/ci3_server run --port 5000"), 5000));
        assert!(is_our_server(&argv("ci3_server run --port=5000"), 5000));
        assert!(is_our_server(&argv("ci3_server run"), DEFAULT_PORT));
        assert!(!is_our_server(&argv("ci3_server run --port 5001"), 5000));
        assert!(!is_our_server(&argv("/bin/sleep run --port 5000"), 5000));
        assert!(!is_our_server(&argv("ci3_server status --port 5000"), 5000));
    }
}
