//! What `run_test_cmd` keeps of a test beside its status line: the log, the test-cache entry,
//! in CI the `history_...` and `failed_tests` list lines, and whether a failure is a flake.
//!
//! With a ci3 server the lines are upstream's: `MM-DD HH:MM:SS: STATUS (URL): CMD (Ns)[ (code:
//! N)][ group:G] (AUTHOR: MSG)`, coloured as upstream's `echo -e` left them (the dashboard strips
//! the colours). A failing test in CI whose `.test_patterns.yml` entries name owners is a flake:
//! `FLAKED`, exit 0, as upstream decides it (owners are who would be told; not failing the run
//! is the point).

use std::fs::File;
use std::io::{self, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_norway::Value;

use super::test_line::TestLine;
use super::{styled, GREEN, RED};
use crate::cache::test_cache::{self, KvCache, Recorded};
use crate::error::Result;
use crate::report::Reporter;
use crate::settings::Settings;
use crate::store::Selected;

/// A failed test's log on a ci3 server lives 12 weeks (upstream).
const FAILED_LOG_TTL: u64 = 12 * 7 * 86400;
/// The failed-tests list keeps its newest 10,000 lines (upstream's `list_push ... 10000`).
const FAILED_LIST_MAX: u64 = 10_000;
const PURPLE: &str = "\x1b[35m";
const RESET: &str = "\x1b[0m";

/// A failure the patterns file calls a flake: who owns the test, and its flake group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flake {
    pub owners: Vec<String>,
    pub group: Option<String>,
}

/// The owners and flake group of the entries of `.test_patterns.yml` (text `patterns`) that
/// match: `regex` on the command and, when the entry has one, `error_regex` on the output.
/// `None` when no matching entry names an owner.
pub fn flake_of(patterns: &str, command: &[u8], output: &[u8]) -> Result<Option<Flake>> {
    let mut owners: Vec<String> = Vec::new();
    let mut group = None;
    for entry in super::test_patterns::entries(patterns)? {
        let matches = |key: &str, text: &[u8]| {
            entry
                .get(key)
                .and_then(Value::as_str)
                .map(|ere| super::test_patterns::entry_regex(ere).is_ok_and(|re| re.is_match(text)))
        };
        if matches("regex", command) != Some(true) || matches("error_regex", output) == Some(false)
        {
            continue;
        }
        if let Some(names) = entry.get("owners").and_then(Value::as_sequence) {
            owners.extend(names.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if group.is_none() {
            group = entry
                .get("flake_group_id")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    owners.sort();
    owners.dedup();
    Ok((!owners.is_empty()).then_some(Flake { owners, group }))
}

/// The whole of a test's output so far, read without moving the offset the test writes at.
pub fn output_so_far(file: &File) -> Vec<u8> {
    let mut text = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read_at(&mut buf, text.len() as u64) {
            Ok(0) | Err(_) => return text,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
}

/// `FLAKED: CMD (Ns) (code: N)[ group:G]`, as upstream prints a flake.
pub fn flaked_status(
    out: &mut impl Write,
    tty: bool,
    test: &TestLine,
    done: &Done,
    flake: &Flake,
) -> io::Result<()> {
    styled(out, tty, PURPLE, b"FLAKED")?;
    writeln!(out, "{}", line_rest(test, done, Some(flake), None))
}

/// What follows the status word of a line: `[ (URL)]: CMD (Ns)[ (code: N)][ group:G]`.
fn line_rest(test: &TestLine, done: &Done, flake: Option<&Flake>, link: Option<&str>) -> String {
    let mut rest = String::new();
    if let Some(url) = link {
        rest.push_str(&format!(" ({url})"));
    }
    rest.push_str(&format!(": {} ({}s)", test.display(), done.took.as_secs()));
    if done.code != 0 {
        rest.push_str(&format!(" (code: {})", done.code));
    }
    if let Some(group) = flake.and_then(|f| f.group.as_deref()) {
        rest.push_str(&format!(" group:{group}"));
    }
    rest
}

/// The local time as `date "+%m-%d %H:%M:%S"` prints it.
fn month_day_time() -> String {
    let now = crate::clock::now_secs() as libc::time_t;
    // SAFETY: tm is plain old data that localtime_r fills in from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&now, &mut tm) };
    format!(
        "{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// A test that ended: its exit status (124 when it was timed out) and how long it took.
/// (`run_test` says how it is shown.)
pub struct Done {
    pub code: i32,
    pub took: Duration,
    pub timed_out: bool,
    pub output: File,
}

/// Records passes in the test cache, opening the store on the first one; with a ci3 server,
/// keeps logs and list lines there.
pub struct Recorder<'a> {
    settings: &'a Settings,
    reporter: Arc<dyn Reporter>,
    store: Option<Option<Selected>>,
    kv: Option<Option<Arc<KvCache>>>,
    warned: bool,
}

impl<'a> Recorder<'a> {
    pub fn new(settings: &'a Settings, reporter: Arc<dyn Reporter>) -> Self {
        Recorder {
            settings,
            reporter,
            store: None,
            kv: None,
            warned: false,
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        self.settings
            .var(name)
            .map(|v| v.to_string_lossy().into_owned())
    }

    /// The store, opened on first use; `None` (said once) when it cannot be.
    fn selected(&mut self) -> Option<&Selected> {
        let (settings, reporter) = (self.settings, &self.reporter);
        self.store
            .get_or_insert_with(|| match crate::store::open(settings, reporter.clone()) {
                Ok(selected) => Some(selected),
                Err(err) => {
                    eprintln!("Warning: the store cannot be used: {err}");
                    None
                }
            })
            .as_ref()
    }

    /// The named ci3 server, for logs and list lines; `None` (said once) when it cannot be used.
    fn server(&mut self) -> Option<&Arc<KvCache>> {
        let settings = self.settings;
        self.kv
            .get_or_insert_with(|| match test_cache::named_api(settings)? {
                Ok(kv) => Some(Arc::new(kv)),
                Err(err) => {
                    eprintln!("Warning: the ci3 server cannot be used: {err}");
                    None
                }
            })
            .as_ref()
    }

    /// The kv test cache, when the store is a ci3 server (the store selection's decision).
    fn kv(&mut self) -> Option<&KvCache> {
        if !test_cache::store_is_server(self.settings) {
            return None;
        }
        self.server().map(|kv| &**kv)
    }

    /// Where a running test's log is re-sent while it grows: the ci3 server, in CI (upstream
    /// publishes live logs in CI only; a developer reads the terminal).
    /// The connection is shared: `parallelize` re-sends from a thread per test.
    pub fn live(&mut self) -> Option<(Arc<KvCache>, u64)> {
        if !self.settings.ci {
            return None;
        }
        self.server()
            .map(|kv| (kv.clone(), crate::ci3_api::LOG_TTL_CI))
    }

    /// Where log ID is browsed: `CI3_PUBLIC_URL` (else the server) and the id.
    pub fn log_url(&self, id: &str) -> String {
        let base = self
            .var("CI3_PUBLIC_URL")
            .or_else(|| self.var("CI3_SERVER"))
            .map(|v| v.trim_end_matches('/').to_string())
            .unwrap_or_default();
        format!("{base}/{id}")
    }

    /// Whether a failing `test` is a flake: in CI only, when the entries of the repo's
    /// `.test_patterns.yml` that match it name owners. A patterns file that cannot be read is
    /// said, and the failure stays one.
    pub fn flake(&self, root: &Path, test: &TestLine, done: &Done) -> Option<Flake> {
        if !self.settings.ci || done.code == 0 || !test.is_test() {
            return None;
        }
        let path = root.join(".test_patterns.yml");
        let text = std::fs::read_to_string(&path).ok()?;
        match flake_of(&text, test.command, &output_so_far(&done.output)) {
            Ok(flake) => flake,
            Err(err) => {
                eprintln!("Warning: {}: {err:#}", path.display());
                None
            }
        }
    }

    /// In CI with a ci3 server: the test's line pushed to its `history_HASH[_TARGET_BRANCH]`
    /// (in a merge queue, on `v*` and `merge-train/*` branches, or `TRACK_TEST_HISTORY=1`) and,
    /// failed or flaked, to `failed_tests[_CI_DASHBOARD]` (unless `TRACK_TEST_FAIL=0`); a flake
    /// also to `$FLAKES_FILE`. A list that cannot be written is said; the test's result stands.
    pub fn track(&mut self, test: &TestLine, done: &Done, flake: Option<&Flake>, log_id: &str) {
        if !self.settings.ci || !test.is_test() {
            return;
        }
        let (word, colour) = match (done.code, flake) {
            (0, _) => ("PASSED", GREEN),
            (_, Some(_)) => ("FLAKED", PURPLE),
            _ => ("FAILED", RED),
        };
        let server = self.server().is_some();
        let link = server.then(|| self.log_url(log_id));
        let author = self.var("COMMIT_AUTHOR").unwrap_or_default();
        let msg = self.var("COMMIT_MSG").unwrap_or_default();
        let line = format!(
            "{colour}{word}{RESET}{} ({PURPLE}{author}{RESET}: {msg})",
            line_rest(test, done, flake, link.as_deref())
        );
        if flake.is_some() {
            if let Some(file) = self.var("FLAKES_FILE").filter(|f| !f.is_empty()) {
                let appended = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
                    .and_then(|mut f| writeln!(f, "{line}"));
                if let Err(err) = appended {
                    eprintln!("Warning: {file}: cannot add the flake: {err}");
                }
            }
        }
        let branch = self.var("TARGET_BRANCH").filter(|b| !b.is_empty());
        let on = |value: Option<String>, default: bool| match value.as_deref() {
            Some("1") | Some("true") => true,
            Some("0") | Some("false") => false,
            _ => default,
        };
        let merge_queue = self
            .var("REF_NAME")
            .is_some_and(|r| r.starts_with("gh-readonly-queue/"));
        let tracked_branch = branch.as_deref().is_some_and(|b| {
            b.starts_with("merge-train/")
                || (b.starts_with('v') && b[1..].starts_with(|c: char| c.is_ascii_digit()))
        });
        let mut pushes = Vec::new();
        if on(
            self.var("TRACK_TEST_HISTORY"),
            merge_queue || tracked_branch,
        ) {
            let hash = crate::hash::hash_str_orig(test.command);
            let suffix = branch.map(|b| format!("_{b}")).unwrap_or_default();
            pushes.push((format!("history_{hash}{suffix}"), None));
        }
        if done.code != 0 && on(self.var("TRACK_TEST_FAIL"), true) {
            let suffix = self
                .var("CI_DASHBOARD")
                .filter(|d| !d.is_empty())
                .map(|d| format!("_{d}"))
                .unwrap_or_default();
            pushes.push((format!("failed_tests{suffix}"), Some(FAILED_LIST_MAX)));
        }
        let Some(kv) = self.server() else {
            return;
        };
        let stamped = format!("{}: {line}", month_day_time());
        for (list, max) in pushes {
            if let Err(err) = kv.backend().list_push(&list, &stamped, max) {
                eprintln!("Warning: list {list} not updated on the ci3 server: {err}");
            }
        }
    }

    /// What a finished test leaves behind: its log when it failed, its test-cache entry when it
    /// passed, and in CI its list lines.
    pub fn keep(
        &mut self,
        test: &TestLine,
        done: &mut Done,
        flake: Option<&Flake>,
        log_id: &str,
    ) -> Result<()> {
        self.failed_as(test, done, log_id)?;
        if done.code == 0 {
            self.passed_as(test, done, log_id);
        }
        self.track(test, done, flake, log_id);
        Ok(())
    }

    /// Keeps the whole output of a failed test as a log in the store, when the store takes
    /// writes from here (as `cache_log` decides), and says where on stderr, as `cache_log`
    /// does: the tail shown under `FAILED:` is rarely the whole story. On a ci3 server it is
    /// log `log_id`, the one written live.
    pub fn failed_as(&mut self, test: &TestLine, done: &mut Done, log_id: &str) -> Result<()> {
        if !test.is_test() || done.code == 0 {
            return Ok(());
        }
        if let Some(kv) = self.server() {
            // Failures' logs are kept 12 weeks (upstream), for the dashboard's links.
            let text = output_so_far(&done.output);
            match kv.backend().log_put(log_id, &text, FAILED_LOG_TTL, true) {
                Ok(()) => eprintln!("Full output: {}", self.log_url(log_id)),
                Err(err) => eprintln!("Warning: the output of the failed test was not kept: {err}"),
            }
            return Ok(());
        }
        let settings = self.settings;
        let Some(selected) = self.selected() else {
            return Ok(());
        };
        if !crate::cache::policy::write_policy(settings, selected).writes() {
            return Ok(());
        }
        let object = crate::store::names::log(&crate::cache::log::new_key()?)?;
        done.output.rewind()?;
        match selected.store.put_reader(&object, &mut done.output, false) {
            Ok(_) => eprintln!("Full output: {object} in {}", selected.store.describe()),
            Err(err) => eprintln!("Warning: the output of the failed test was not kept: {err}"),
        }
        Ok(())
    }

    /// Records that `test` passed, in CI, for a line the cache may hold (on a ci3 server: its
    /// log `log_id` kept, and the kv entry naming it). A store that cannot be opened or written
    /// is said once and otherwise ignored: the test still passed.
    pub fn passed_as(&mut self, test: &TestLine, done: &mut Done, log_id: &str) {
        let settings = self.settings;
        if settings.ci && test.is_test() {
            if let Some(server) = self.server() {
                // The log written live gets its final write, as upstream's CI passes do, even
                // when an explicit store keeps the test cache.
                let text = output_so_far(&done.output);
                let ttl = crate::ci3_api::LOG_TTL_CI;
                if let Err(err) = server.backend().log_put(log_id, &text, ttl, true) {
                    eprintln!("Warning: the test's log was not kept on the ci3 server: {err}");
                }
            }
        }
        if !crate::cache::policy::counts_passes(settings) || !test.cacheable() {
            return;
        }
        if let Some(kv) = self.kv() {
            // The value is the passing log's id, as upstream keeps it.
            let recorded = crate::trust::Trust::from_vars(&settings.trust)
                .and_then(|trust| kv.record(settings, &trust, &test_cache::key(test.line), log_id));
            if let Err(err) = recorded {
                eprintln!("Warning: test cache not updated on the ci3 server: {err}");
            }
            return;
        }
        let Some(selected) = self.selected() else {
            return;
        };
        let problem = match test_cache::record(
            settings,
            selected.store.as_ref(),
            &selected.trust,
            test.line,
        ) {
            Recorded::Recorded | Recorded::NotInCi => return,
            Recorded::NoCredentials => "no AWS credentials found".to_string(),
            Recorded::Failed(err) => err.to_string(),
        };
        let place = selected.store.describe();
        if !self.warned {
            self.warned = true;
            eprintln!("Warning: test cache not updated in {place}: {problem}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATTERNS: &str = r#"
names:
  - ann: &ann "U01"
  - bob: &bob "U02"
tests:
  - regex: "flaky\\.sh"
    owners: [*ann, *bob]
    flake_group_id: net
  - regex: "flaky\\.sh"
    owners: [*ann]
  - regex: "p2p\\.sh"
    error_regex: "could not listen"
    owners: [*bob]
  - regex: "lonely\\.sh"
    skip: true
"#;

    #[test]
    fn owners_of_matching_entries_make_a_flake() {
        let f = flake_of(PATTERNS, b"./flaky.sh x", b"boom")
            .unwrap()
            .unwrap();
        assert_eq!(f.owners, ["U01", "U02"]);
        assert_eq!(f.group.as_deref(), Some("net"));
        assert!(flake_of(PATTERNS, b"./p2p.sh", b"other error")
            .unwrap()
            .is_none());
        let p2p = flake_of(PATTERNS, b"./p2p.sh", b"x could not listen y");
        assert_eq!(p2p.unwrap().unwrap().owners, ["U02"]);
        assert!(flake_of(PATTERNS, b"./lonely.sh", b"").unwrap().is_none());
        assert!(flake_of("", b"./flaky.sh", b"").unwrap().is_none());
    }

    #[test]
    fn the_date_is_upstreams() {
        let d = month_day_time();
        assert_eq!(d.len(), 14, "{d}");
        assert_eq!((&d[2..3], &d[5..6], &d[8..9]), ("-", " ", ":"));
    }
}
