//! What every executable shares: argument parsing with `--help`/`--version`, the settings and
//! the store read once, notes and progress on stderr, and errors mapped to exit codes.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ci3::report::{Progress, Reporter};
use ci3::settings::Settings;
use ci3::store::Selected;
use ci3::Error;

pub mod tasks;
pub mod trace;

/// The variables every store-using tool reads, for `--help`.
pub const STORE_ENV: &str = "\
  CI3_STORE                  file:///abs/dir or s3://BUCKET/PREFIX
  CI3_READ_STORES            read-only stores behind it, read in order on a miss (URLs, space or comma separated)
  CI3_SIGNING_KEY            key file (cache_keygen): sign what is stored
  CI3_TRUSTED_KEYS           public keys (ed25519:HEX) or files of them: accept only what they signed
  CI3_S3_BUCKET, CI3_S3_PREFIX, CI3_S3_ENDPOINT
                             S3 store (prefix default build-cache/)
  S3_BUILD_CACHE_AWS_PARAMS  the original scripts' aws-cli words (--endpoint-url, --region)
  CI3_PUBLIC_CACHE_URL       anonymous HTTP(S) reads
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_REGION
  CI3_S3_TIMEOUT, CI3_S3_TRANSFER_TIMEOUT   request and transfer timeouts, seconds
  CI3_OFFLINE=1              ask no remote store (each answers at once as unreachable)
  CI3_PROGRESS_AFTER         seconds before a terminal shows a transfer's progress bar (1)
  XDG_CACHE_HOME             the default directory store is $XDG_CACHE_HOME/ci3/store";

/// Parses the command line; `--help` and `--version` print on stdout and exit 0, and a usage
/// error exits with `usage_code` (1 for the original tools, whose scripts test for it).
pub fn parse<T: clap::Parser>(usage_code: i32) -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() { usage_code } else { 0 };
            let _ = err.print();
            std::process::exit(code)
        }
    }
}

/// Refuses, as clap refuses an unknown option (its usage error, exit 2), a pattern argument that
/// reads as an option but names no file or directory: `cache_content_hash --worktree x` must not
/// say "Directory '--worktree' does not exist". After a `--`, every argument is a name.
pub fn refuse_stray_option<T: clap::CommandFactory>(patterns: &[std::ffi::OsString]) {
    let Some(stray) = ci3::hash::patterns::stray_option(patterns) else {
        return;
    };
    if std::env::args_os().any(|arg| arg == "--") {
        return;
    }
    let mut cmd = T::command();
    // A help or version flag after the patterns is still that flag.
    let alone = [std::ffi::OsString::from(cmd.get_name()), stray.clone()];
    if let Err(err) = cmd.clone().try_get_matches_from(alone) {
        if !err.use_stderr() {
            err.exit();
        }
    }
    let err = cmd.error(
        clap::error::ErrorKind::UnknownArgument,
        format!(
            "unexpected argument '{}' found: no option of {}, and no file or directory by that name",
            one_line(&stray.to_string_lossy()),
            cmd.get_name()
        ),
    );
    let _ = err.print();
    std::process::exit(2)
}

/// Runs a tool's body, for every executable: an error is printed as one line `tool: message` on
/// stderr and exits with the code its kind carries ([`ci3::Kind::exit_code`]); a signal that
/// interrupted the work exits 128+N.
pub fn run(tool: &str, body: impl FnOnce() -> Result<i32, Error>) -> ! {
    let code = match body() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{tool}: {}", one_line(&err.to_string()));
            err.exit_code()
        }
    };
    exit(code)
}

/// Exits with `code`, or as a shell reports a signal (128 + N) when one interrupted the work:
/// an interrupted tool has cleaned up, but it did not do its job.
pub fn exit(code: i32) -> ! {
    match ci3::process::signals::received() {
        Some(signal) => std::process::exit(128 + signal),
        None => std::process::exit(code),
    }
}

/// Text on one line: a newline in a name must not split a message.
pub fn one_line(text: &str) -> String {
    text.replace('\n', "\\n")
}

/// The note a `disabled-cache` key gets outside CI: which uncommitted files caused it.
pub fn dirty_note(paths: &[Vec<u8>]) -> String {
    const SHOWN: usize = 3;
    let mut named: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    if paths.len() > SHOWN {
        named.push(format!("and {} more", paths.len() - SHOWN));
    }
    one_line(&format!(
        "Caching disabled: uncommitted changes to files the key covers: {}",
        named.join(", ")
    ))
}

/// The settings and the store they select, opened before any work: a configuration that cannot
/// be right ends the tool here with one line and exit 2.
pub struct Tool {
    pub name: &'static str,
    pub settings: Settings,
    pub reporter: Arc<Stderr>,
}

impl Tool {
    pub fn new(name: &'static str) -> Tool {
        let settings = Settings::from_env();
        let reporter = Arc::new(Stderr::new(settings.progress_after));
        Tool {
            name,
            settings,
            reporter,
        }
    }

    /// The configured store, or exit 2 naming the variable and value.
    pub fn store(&self) -> Selected {
        self.store_or_exit(None)
    }

    /// The configured store; a configuration that cannot be right ends the tool with one line
    /// and `code` (else 2). A tool whose exit 0 means "do the work" (rebuild, run the test) ends
    /// with 0: read as "cached" or "skip" by `if tool; then`, a 2 would do the unsafe thing.
    pub fn store_or_exit(&self, code: Option<i32>) -> Selected {
        match ci3::store::open(&self.settings, self.reporter.clone()) {
            Ok(selected) => selected,
            Err(err) => {
                eprintln!("{}: {}", self.name, one_line(&err.to_string()));
                std::process::exit(code.unwrap_or_else(|| err.exit_code()))
            }
        }
    }

    /// What the cache flows work with: these settings, `selected`, and this tool's reporter.
    pub fn context<'a>(&'a self, selected: &'a Selected) -> ci3::cache::Context<'a> {
        ci3::cache::Context {
            settings: &self.settings,
            selected,
            reporter: self.reporter.as_ref(),
        }
    }

    /// Says a line on stderr (above the progress bar, if one is shown).
    pub fn say(&self, line: &str) {
        self.reporter.note(line);
    }
}

/// Notes on stderr, one line each; on a terminal, a progress bar (bytes, rate, ETA when the
/// size is known) for a transfer that takes over a second. Nothing else when stderr is not a
/// terminal: logs stay as the original scripts' were.
pub struct Stderr {
    terminal: bool,
    /// How long a transfer runs before it earns a progress bar.
    quiet_for: Duration,
    /// The bar of the transfer under way, shared with its `Bar`.
    bar: Arc<Mutex<Option<indicatif::ProgressBar>>>,
}

impl Stderr {
    pub fn new(quiet_for: Duration) -> Self {
        Stderr {
            terminal: std::io::stderr().is_terminal(),
            quiet_for,
            bar: Arc::new(Mutex::new(None)),
        }
    }
}

impl Reporter for Stderr {
    fn note(&self, line: &str) {
        let line = one_line(line);
        match &*self.bar.lock().expect("progress bar") {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn transfer(&self, label: &str, total: Option<u64>) -> Box<dyn Progress> {
        if !self.terminal {
            return Box::new(ci3::report::NoProgress);
        }
        Box::new(Bar {
            shown: self.bar.clone(),
            quiet_for: self.quiet_for,
            label: one_line(label),
            total,
            started: Instant::now(),
            bytes: Mutex::new(0),
        })
    }
}

/// Progress of one transfer; the bar appears only once the transfer has taken a second.
struct Bar {
    shown: Arc<Mutex<Option<indicatif::ProgressBar>>>,
    quiet_for: Duration,
    label: String,
    total: Option<u64>,
    started: Instant,
    bytes: Mutex<u64>,
}

impl Progress for Bar {
    fn advance(&self, n: u64) {
        let mut bytes = self.bytes.lock().expect("progress");
        *bytes += n;
        if self.started.elapsed() < self.quiet_for {
            return;
        }
        let mut slot = self.shown.lock().expect("progress bar");
        let new = slot.is_none();
        let bar = slot.get_or_insert_with(|| {
            let (bar, template) = match self.total {
                Some(total) => (
                    indicatif::ProgressBar::new(total),
                    "{msg} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                ),
                None => (
                    indicatif::ProgressBar::no_length(),
                    "{msg} {bytes} {binary_bytes_per_sec} {elapsed}",
                ),
            };
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.set_message(self.label.clone());
            bar
        });
        bar.set_position(*bytes);
        if new {
            // Draws are rate-limited: a short transfer could end before the first one.
            bar.force_draw();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = self.shown.lock().expect("progress bar").take() {
            bar.finish_and_clear();
        }
    }
}

/// The arguments of a tool whose arguments are a shell command: joined with spaces, every one of
/// them data (no `--help`); none at all is a usage error (exit 2, as clap's).
pub fn command_words(tool: &str) -> String {
    let words: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    if words.is_empty() {
        eprintln!("Usage: {tool} CMD...");
        std::process::exit(2);
    }
    words.join(" ")
}
