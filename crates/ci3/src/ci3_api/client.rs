//! `ci3_client CMD ARGS`: upstream's commands, words and exit codes (§2.2) over whichever
//! backend `resolve` finds, so upstream scripts run unchanged. Outside CI a write never fails
//! its caller; in CI a failed write is an error.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use super::{connect, Backend, Resolved, ARTIFACT_TTL, LOG_TTL_CI, LOG_TTL_LOCAL};
use crate::error::{Error, Kind, Result};
use crate::report::Reporter;
use crate::settings::Settings;

/// What `ci3_client` says with no command or an unknown one.
pub const HELP: &str = "\
Usage: ci3_client CMD ARGS: talk to the ci3 server (CI3_SERVER), or to the configured store
in-process when there is no server.

  env                              shell exports for the resolved server (source_ci3_client evals it)
  check                            probe the server and its credentials (exit 1 on failure)
  url [path]                       the browse URL of a log id / server path, as printed in links
  log_put <id> [ttl] [final]       stdin -> the log <id> (replaces); \"final\" marks a log's last write
  log_get <id>                     the log <id> -> stdout (exit 1 if absent)
  log_list <prefix>                the ids directly under <prefix>, one per line
  kv_get <key>...                  one line per key: the value, or empty
  kv_set <key> <value> [ttl]
  list_push <name> <line> [max]    prepend; the server keeps at most <max> (default 1000) lines
  list_get <name>                  newest first (exit 1 if absent)
  run_put <section> <id>           stdin (JSON) -> the CI run record
  run_get <section> <id>           the JSON record -> stdout (exit 1 if absent)
  artifact_put <name> <file>       upload a build-cache artifact (exit 1 on failure)
  artifact_get <name>              stream a build-cache artifact -> stdout (exit 1 if absent)
  artifact_exists <name>           exit 0 if present, else 1

Environment: CI3_SERVER (unset: a server on http://localhost:4275, else CI3_STORE in-process;
empty: none), CI3_PASSWORD (basic auth, user CI3_USER or aztec), CI3_SERVER_TOKEN (bearer),
CI3_PUBLIC_URL (link base), CI=1 (a server and credentials required; failed writes exit 1).
Exit status: 0 done, 1 failed or absent, 2 usage.
";

/// Each command, the arguments it needs and how its usage reads.
const COMMANDS: &[(&str, usize, &str)] = &[
    ("env", 0, ""),
    ("check", 0, ""),
    ("url", 0, "[path]"),
    ("log_put", 1, "<id> [ttl] [final]"),
    ("log_get", 1, "<id>"),
    ("log_list", 1, "<prefix>"),
    ("kv_get", 1, "<key>..."),
    ("kv_set", 2, "<key> <value> [ttl]"),
    ("list_push", 2, "<name> <line> [max]"),
    ("list_get", 1, "<name>"),
    ("run_put", 2, "<section> <id>"),
    ("run_get", 2, "<section> <id>"),
    ("artifact_put", 2, "<name> <file>"),
    ("artifact_get", 1, "<name>"),
    ("artifact_exists", 1, "<name>"),
];

/// Whether `cmd` is one of `ci3_client`'s commands.
pub fn known(cmd: &str) -> bool {
    COMMANDS.iter().any(|(name, _, _)| *name == cmd)
}

/// How a command ended, when not with an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Exit 1, saying this line (if any): absent, truncated, not stored.
    Failed(Option<String>),
}

/// A writer that takes a closed reader (EPIPE) as the end of the interest in the output.
struct Out<'a>(&'a mut dyn Write);

impl Write for Out<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.0.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// A number argument, or a usage error naming it.
fn number(text: &str, what: &str) -> Result<u64> {
    text.parse().map_err(|_| {
        Error::usage(format!(
            "{what} must be a number of seconds or lines, not '{text}'"
        ))
    })
}

/// The argument at `i` when given and not empty.
fn opt(args: &[String], i: usize) -> Option<&str> {
    args.get(i).map(String::as_str).filter(|a| !a.is_empty())
}

/// Runs `ci3_client CMD ARGS`, data to `out`. Errors of kind `Usage` are exit 2, others exit 1.
pub fn run(
    settings: &Settings,
    reporter: Arc<dyn Reporter>,
    cmd: &str,
    args: &[String],
    stdin: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let Some((_, needs, usage)) = COMMANDS.iter().find(|(name, _, _)| *name == cmd) else {
        return Err(Error::usage(format!("unknown command {cmd}")));
    };
    if args.len() < *needs {
        return Err(Error::usage(format!("usage: ci3_client {cmd} {usage}")));
    }
    let out = &mut Out(out);
    // Read before anything can fail: an undrained writer dies of SIGPIPE.
    let mut input = Vec::new();
    if matches!(cmd, "log_put" | "run_put") {
        stdin.read_to_end(&mut input)?;
    }
    let api = connect(settings, reporter, cmd == "check")?;
    let outcome = command(&api, settings, cmd, args, input, out)?;
    out.flush()?;
    Ok(outcome)
}

fn command(
    api: &Resolved,
    settings: &Settings,
    cmd: &str,
    args: &[String],
    input: Vec<u8>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let backend = &api.backend;
    let absent = |found: bool, what: String| match found {
        true => Outcome::Done,
        false => Outcome::Failed(Some(what)),
    };
    Ok(match cmd {
        "env" => {
            out.write_all(env_lines(api).as_bytes())?;
            Outcome::Done
        }
        "check" => match backend {
            Backend::Http(_) => Outcome::Done,
            _ => Outcome::Failed(Some("ci3_client: no ci3 server to check".into())),
        },
        "url" => {
            writeln!(out, "{}/{}", api.public_url, opt(args, 0).unwrap_or(""))?;
            Outcome::Done
        }
        "log_put" => {
            let default = if api.ci { LOG_TTL_CI } else { LOG_TTL_LOCAL };
            let ttl = opt(args, 1).map_or(Ok(default), |t| number(t, "ttl"))?;
            let last = args.get(2).is_some_and(|a| a == "final");
            write(api, backend.log_put(&args[0], &input, ttl, last))?
        }
        "log_get" => read(
            &args[0],
            "Log not found: ",
            |o| backend.log_get(&args[0], o),
            out,
        )?,
        "log_list" => match backend.log_list(&args[0]) {
            Ok(Some(names)) => {
                out.write_all(&names)?;
                Outcome::Done
            }
            Ok(None) => Outcome::Failed(Some(format!("Cannot list logs under {}", args[0]))),
            Err(e) => Outcome::Failed(Some(format!("Cannot list logs under {} ({e})", args[0]))),
        },
        "kv_get" => {
            for line in backend.kv_get(args) {
                writeln!(out, "{line}")?;
            }
            Outcome::Done
        }
        "kv_set" => {
            let ttl = opt(args, 2).map(|t| number(t, "ttl")).transpose()?;
            write(api, backend.kv_set(&args[0], &args[1], ttl))?
        }
        "list_push" => {
            let max = opt(args, 2).map(|m| number(m, "max")).transpose()?;
            write(api, backend.list_push(&args[0], &args[1], max))?
        }
        "list_get" => read(
            &args[0],
            "List not found: ",
            |o| backend.list_get(&args[0], o),
            out,
        )?,
        "run_put" => write(api, backend.run_put(&args[0], &args[1], &input))?,
        "run_get" => {
            let what = format!("{}/{}", args[0], args[1]);
            read(
                &what,
                "Run not found: ",
                |o| backend.run_get(&args[0], &args[1], o),
                out,
            )?
        }
        "artifact_put" => {
            let put = backend.artifact_put(&args[0], Path::new(&args[1]), settings.force_upload);
            match put {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::Failed(Some(format!("ci3_client artifact_put: {e}"))),
            }
        }
        "artifact_get" => {
            let name = &args[0];
            read(
                name,
                "Artifact not found: ",
                |o| backend.artifact_get(name, o),
                out,
            )?
        }
        "artifact_exists" => absent(
            backend.artifact_exists(&args[0]).unwrap_or(false),
            String::new(),
        ),
        _ => return Err(Error::usage(format!("unknown command {cmd}"))),
    })
    .map(|outcome| match outcome {
        Outcome::Failed(Some(line)) if line.is_empty() => Outcome::Failed(None),
        other => other,
    })
}

/// A write's outcome: outside CI it never fails the caller (the reason said only with
/// `BUILD_SYSTEM_DEBUG=1` upstream; here always as an error in CI).
fn write(api: &Resolved, done: Result<()>) -> Result<Outcome> {
    match done {
        Ok(()) => Ok(Outcome::Done),
        Err(e) if api.ci => Err(e.with_kind(Kind::Failed)),
        Err(e) if e.kind() == Kind::Usage => Ok(Outcome::Failed(Some(format!("ci3_client: {e}")))),
        Err(_) => Ok(Outcome::Done),
    }
}

/// A read into `out`: absent or failed is exit 1 with `missing` and the name.
fn read(
    name: &str,
    missing: &str,
    fetch: impl FnOnce(&mut dyn Write) -> Result<bool>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    Ok(match fetch(out) {
        Ok(true) => Outcome::Done,
        Ok(false) => Outcome::Failed(Some(format!("{missing}{name}"))),
        Err(e) if e.message() == "No ci3 server available." => Outcome::Failed(Some(e.to_string())),
        Err(e) => Outcome::Failed(Some(format!("{missing}{name} ({e})"))),
    })
}

/// `ci3_client env`: what `source_ci3_client` evaluates.
fn env_lines(api: &Resolved) -> String {
    let mut lines = Vec::new();
    // In-process over a store: an empty CI3_SERVER would turn the children's calls off.
    if !matches!(api.backend, Backend::Local(_)) {
        lines.push(format!("export CI3_SERVER={}", quote(&api.server)));
    }
    lines.push(format!("export CI3_PUBLIC_URL={}", quote(&api.public_url)));
    if let Some(mark) = &api.checked {
        lines.push(format!("export _CI3_CHECKED={mark}"));
    }
    if matches!(api.backend, Backend::Off) {
        lines.push("export USE_TEST_CACHE=0".into());
    }
    let log_ttl = if api.ci { LOG_TTL_CI } else { LOG_TTL_LOCAL };
    lines.push(format!("ci3_log_expire={log_ttl}"));
    lines.push(format!("ci3_artifact_expire={ARTIFACT_TTL}"));
    lines.push("ci3_public_cache_url=https://build-cache.aztec-labs.com".into());
    lines.join("\n") + "\n"
}

/// `text` as one shell word.
fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b));
    match plain {
        true => text.to_string(),
        false => format!("'{}'", text.replace('\'', "'\\''")),
    }
}
