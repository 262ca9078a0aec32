//! A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! JSON messages ended by NUL on fds 3 and 4), so the tests need no WebSocket client and read
//! the DOM as the page's script left it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub mod fill;

/// A hang guard, not a timing assertion: a browser that has not answered a command (or sent an
/// awaited event) in this long is broken, or the page never got what the test waits for. Over
/// the whole wait, not per message: a polling page sends network events all the while.
const ANSWER_WITHIN: Duration = Duration::from_secs(120);

/// The Chromium binary: Debian's `chromium` (`.ci/run` installs it).
pub fn chromium() -> PathBuf {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(candidate))
                .find(|p| p.is_file())
        }) {
            return found;
        }
    }
    panic!(
        "no chromium on PATH: these tests load the dashboard in a real browser; install \
         Debian's chromium package (`apt-get install chromium`, as .ci/run does)"
    );
}

pub struct Browser {
    child: Child,
    to: File,
    from: Receiver<Value>,
    next: u64,
    session: String,
    /// Events that came while waiting for an answer, oldest first.
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

impl Browser {
    /// A browser with one blank page, `width`×`height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = pipe();
        let (out_read, out_write) = pipe();
        let mut command = Command::new(chromium());
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        unsafe {
            command.pre_exec(move || {
                // Moved high first, so dup2 onto 3 and 4 never meets its own source.
                let a = libc::fcntl(cmd_read, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(out_write, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("start chromium");
        unsafe {
            libc::close(cmd_read);
            libc::close(out_write);
        }
        let to = unsafe { File::from_raw_fd(cmd_write) };
        let from = unsafe { File::from_raw_fd(out_read) };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        message.pop();
                        if let Ok(value) = serde_json::from_slice(&message) {
                            if tx.send(value).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            to,
            from: rx,
            next: 0,
            session: String::new(),
            events: VecDeque::new(),
            _profile: profile,
        };
        let target = browser.browser_call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = browser.browser_call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.call("Page.enable", json!({}));
        browser.call("Runtime.enable", json!({}));
        browser
    }

    /// The next message, as long as `deadline` has not passed.
    fn receive(&mut self, deadline: Instant, awaited: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.from.recv_timeout(left) {
            Ok(value) => value,
            Err(e) => panic!("{awaited}: nothing within {ANSWER_WITHIN:?} ({e})"),
        }
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> u64 {
        self.next += 1;
        let mut message = json!({"id": self.next, "method": method, "params": params});
        if session {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to chromium");
        self.next
    }

    fn answer(&mut self, id: u64, method: &str) -> Value {
        let deadline = Instant::now() + ANSWER_WITHIN;
        loop {
            let message = self.receive(deadline, method);
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    panic!("{method}: {error}");
                }
                return message["result"].clone();
            }
            self.events.push_back(message);
        }
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params, false);
        self.answer(id, method)
    }

    /// Every request of the page from now on carries `Authorization: authorization`, the
    /// script's own fetches included, as once a person has answered the browser's prompt.
    pub fn authorize(&mut self, authorization: &str) {
        self.call("Network.enable", json!({}));
        self.call(
            "Network.setExtraHTTPHeaders",
            json!({"headers": {"Authorization": authorization}}),
        );
    }

    /// A command to the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params, true);
        self.answer(id, method)
    }

    /// A command to the page whose answer is awaited later ([`Browser::wait_answer`]).
    pub fn send_page(&mut self, method: &str, params: Value) -> u64 {
        self.send(method, params, true)
    }

    pub fn wait_answer(&mut self, id: u64) -> Value {
        self.answer(id, "an earlier command")
    }

    /// The next event named `method` (earlier other events are kept).
    pub fn event(&mut self, method: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(at).unwrap()["params"].clone();
        }
        let deadline = Instant::now() + ANSWER_WITHIN;
        loop {
            let message = self.receive(deadline, method);
            if message["method"] == method {
                return message["params"].clone();
            }
            self.events.push_back(message);
        }
    }

    /// Loads `url` and waits for its load event.
    pub fn open(&mut self, url: &str) {
        self.events.clear();
        let navigated = self.call("Page.navigate", json!({"url": url}));
        assert!(
            navigated.get("errorText").is_none(),
            "{url}: {}",
            navigated["errorText"]
        );
        self.event("Page.loadEventFired");
    }

    /// The value of a script expression (awaited when it is a promise).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = result.get("exceptionDetails") {
            panic!("{expression}: {e}");
        }
        result["result"]["value"].clone()
    }

    /// Resolves once `condition` (a script expression) holds, checked on each animation frame
    /// and DOM change: a wait on the page's own state, not a sleep.
    pub fn wait_for(&mut self, condition: &str) {
        let script = format!(
            "new Promise(function(done){{function check(){{try{{if({condition}){{done(true);return true;}}}}catch(e){{}}return false;}}\
             if(check())return;var o=new MutationObserver(function(){{if(check())o.disconnect();}});\
             o.observe(document,{{subtree:true,childList:true,attributes:true,characterData:true}});}})"
        );
        assert_eq!(self.eval(&script), json!(true));
    }

    /// The rendered DOM.
    pub fn dom(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A PNG of the whole page into `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64(shot["data"].as_str().unwrap());
        assert_eq!(&png[1..4], b"PNG");
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64, as the protocol sends screenshots.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | (value(c) as u32) << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}
