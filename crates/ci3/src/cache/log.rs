//! `cache_log NAME [KEY]`: keep what arrives on stdin as a log object in the store.
//!
//! Where it goes: the object `.ci3/logs/KEY.log` beside the artifacts (under the S3 prefix, or in
//! the store directory). Artifact names are file names a script chooses (`noir-<hash>.tar.gz`),
//! flags are `NAME.flag`; a name inside the hidden `.ci3/` directory is the project's own
//! namespace, so a log never shadows an artifact or a flag, whatever KEY is.
//! KEY is the handle a script can print or link to before the log exists (`key=$(uuid)`), so the
//! object is found from KEY alone; NAME is free text (`"Build noir"`) and only appears in the
//! message. A second log with the same KEY replaces the first, as the original's log server did.
//!
//! When it is stored follows the artifact upload rule (`policy::write_policy`): always in a
//! directory store, in S3 only with `CI=1` or a non-empty `S3_FORCE_UPLOAD`, and never in S3
//! without credentials. The original only kept logs in CI; a developer's run therefore does not
//! fill the shared bucket, while a local directory store keeps their logs where they can read
//! them. `NO_CACHE_UPLOAD` is about cache entries and does not apply: a log is never read back
//! as one.
//!
//! Whatever happens to the store, stdin is read to its end (the writer of the pipe never gets
//! SIGPIPE), copied to stdout as it arrives with `DUP=1`, and the exit status is 0: a build
//! never fails because logging is unavailable. It is spooled to a temporary file and uploaded
//! from there, so memory stays bounded whatever the log's size.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::policy::{self, WritePolicy};
use super::Context;
use crate::error::{Error, Kind, Result};
use crate::report::Reporter;
use crate::store::{names, Store};

/// A KEY must be one plain name component: it becomes part of an object name.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key == "." || key == ".." || key.contains(['/', '\0', '\n']) {
        return Err(Error::usage(format!(
            "invalid KEY '{key}': it must be a non-empty name without '/'"
        )));
    }
    Ok(())
}

/// A new random key: 16 lowercase hex chars, like `uuid` in `ci3/source`.
pub fn new_key() -> Result<String> {
    let bytes = crate::random::bytes::<8>().map_err(|e| {
        Error::new(
            Kind::Io,
            format!("cannot read /dev/urandom for a new log key: {e}"),
        )
    })?;
    Ok(hex::encode(bytes))
}

/// Reads `input` to its end and keeps it as the log KEY (a new key when `None`), copying it to
/// `dup` as it arrives. Only a bad KEY is an error; what happened to the log is reported.
pub fn store_log(
    ctx: &Context<'_>,
    name: &str,
    key: Option<&str>,
    input: &mut dyn Read,
    mut dup: Option<&mut dyn Write>,
) -> Result<()> {
    let key = match key {
        Some(key) => {
            check_key(key)?;
            key.to_string()
        }
        None => new_key()?,
    };
    let object = names::log(&key)?;
    let say = |line: String| ctx.reporter.note(&line);
    if let Some(server) = crate::ci3_api::resolve::named_server(ctx.settings) {
        if !server.is_empty() {
            live(ctx, name, &key, input, dup);
            return Ok(());
        }
    }
    let store = ctx.selected.store.as_ref();
    let skip = match policy::write_policy(ctx.settings, ctx.selected) {
        WritePolicy::Create | WritePolicy::Replace => None,
        WritePolicy::NotInCi => Some("CI=0 and S3_FORCE_UPLOAD not set"),
        WritePolicy::NoCredentials => Some("no AWS credentials found"),
    };
    if let Some(reason) = skip {
        // Nothing will be stored: pass the log through (or drain it) without spooling.
        copy(input, None, dup.take(), ctx.reporter);
        say(format!("Log {name} not stored: {reason}."));
        return Ok(());
    }
    let mut spool = match tempfile::NamedTempFile::new() {
        Ok(spool) => Some(spool),
        Err(err) => {
            say(format!(
                "Warning: log {name} not stored: cannot create a temporary file: {err}"
            ));
            None
        }
    };
    let spool_failed = copy(
        input,
        spool.as_mut().map(|s| s.as_file_mut() as &mut dyn Write),
        dup,
        ctx.reporter,
    );
    if let Some(err) = spool_failed {
        say(format!(
            "Warning: log {name} not stored: cannot write its temporary file: {err}"
        ));
        return Ok(());
    }
    let Some(spool) = spool else {
        return Ok(());
    };
    say(put(store, &object, &spool, name));
    Ok(())
}

fn put(store: &dyn Store, object: &str, spool: &tempfile::NamedTempFile, name: &str) -> String {
    match store.put_file(object, spool.path(), false) {
        Ok(_) => format!("Log {name} stored as {object} in {}.", store.describe()),
        Err(err) => format!(
            "Warning: log {name} not stored in {}: {err}",
            store.describe()
        ),
    }
}

/// How often a log on a ci3 server is sent again while it grows.
const LIVE_EVERY: Duration = Duration::from_secs(5);

/// The log so far, shared with the thread that re-sends it.
#[derive(Default)]
struct Growing {
    text: Mutex<Vec<u8>>,
}

impl Write for &Growing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        text.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The log on a ci3 server (`CI3_SERVER`): `NAME log id: URL` said first, the log re-sent every
/// `LIVE_EVERY` while it grows so it can be read live, then its final write. A server that
/// cannot be used is said, and the input drained all the same.
fn live(
    ctx: &Context<'_>,
    name: &str,
    key: &str,
    input: &mut dyn Read,
    dup: Option<&mut dyn Write>,
) {
    let reporter = std::sync::Arc::new(crate::report::Silent);
    let resolved = match crate::ci3_api::connect(ctx.settings, reporter, false) {
        Ok(resolved) => resolved,
        Err(err) => {
            copy(input, None, dup, ctx.reporter);
            ctx.reporter
                .note(&format!("Warning: log {name} not stored: {err}"));
            return;
        }
    };
    let backend = &resolved.backend;
    let ttl = match ctx.settings.ci {
        true => crate::ci3_api::LOG_TTL_CI,
        false => crate::ci3_api::LOG_TTL_LOCAL,
    };
    ctx.reporter
        .note(&format!("{name} log id: {}/{key}", resolved.public_url));
    let growing = Growing::default();
    let snapshot = || {
        growing
            .text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    };
    while_live(backend, key, ttl, &snapshot, &|| {}, || {
        let mut sink = &growing;
        copy(input, Some(&mut sink), dup, ctx.reporter);
    });
    let text = growing
        .text
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Err(err) = backend.log_put(key, &text, ttl, true) {
        ctx.reporter.note(&format!(
            "Warning: log {name} not stored on {}: {err}",
            resolved.server
        ));
    }
}

/// Runs `work` while log `key` on the server is re-sent every `LIVE_EVERY` with what `snapshot`
/// gives, when that changed, the first time `LIVE_EVERY` after the start (an empty log then
/// says the job is running); `first` is called once the first of them was taken. The final
/// write is the caller's: it knows the ttl and the text.
pub fn while_live<R>(
    backend: &crate::ci3_api::Backend,
    key: &str,
    ttl: u64,
    snapshot: &(dyn Fn() -> Vec<u8> + Sync),
    first: &(dyn Fn() + Sync),
    work: impl FnOnce() -> R,
) -> R {
    let ended = Mutex::new(false);
    let wake = Condvar::new();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let (mut sent, mut announced) = (None, false);
            loop {
                let done = ended.lock().unwrap_or_else(PoisonError::into_inner);
                // `work` may have ended before this thread first waits: look before waiting.
                let (done, _) = wake
                    .wait_timeout_while(done, LIVE_EVERY, |done| !*done)
                    .unwrap_or_else(PoisonError::into_inner);
                if *done {
                    return;
                }
                drop(done);
                let text = snapshot();
                if sent != Some(text.len()) {
                    // A live write that fails is only a log not yet visible: the final one says.
                    let taken = backend.log_put(key, &text, ttl, false).is_ok();
                    if taken && !announced {
                        announced = true;
                        first();
                    }
                    sent = Some(text.len());
                }
            }
        });
        let result = work();
        *ended.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        result
    })
}

/// Reads `input` to its end, writing every chunk to `spool` and, as soon as it is read, to
/// `dup`. A failing `dup` (a closed pipe: `| head`) only stops the copy to it; a failing spool
/// stops the spooling and is returned, but the input is still read to its end.
fn copy(
    input: &mut dyn Read,
    mut spool: Option<&mut dyn Write>,
    mut dup: Option<&mut dyn Write>,
    reporter: &dyn Reporter,
) -> Option<io::Error> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut spool_error = None;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => {
                // What was read so far is still worth keeping.
                reporter.note(&format!("Warning: cannot read standard input: {err}"));
                break;
            }
        };
        if let Some(out) = dup.as_mut() {
            if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                dup = None;
            }
        }
        if let Some(file) = spool.as_mut() {
            if let Err(err) = file.write_all(&buf[..n]) {
                spool = None;
                spool_error = Some(err);
            }
        }
    }
    if let Some(file) = spool {
        if let Err(err) = file.flush() {
            spool_error.get_or_insert(err);
        }
    }
    spool_error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_component() {
        for good in ["0123456789abcdef", "build-42", "a.b"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "/x", "a\0b"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert_eq!(names::log("k").unwrap(), ".ci3/logs/k.log");
    }

    #[test]
    fn new_keys_are_16_lowercase_hex_and_differ() {
        let a = new_key().unwrap();
        assert_eq!(a.len(), 16);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(a, new_key().unwrap());
    }

    /// A writer that fails after `left` bytes, like a pipe whose reader went away.
    struct Closing {
        got: Vec<u8>,
        left: usize,
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::from(ErrorKind::BrokenPipe));
            }
            let n = buf.len().min(self.left);
            self.got.extend_from_slice(&buf[..n]);
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_dup_or_spool_does_not_stop_the_reading() {
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let mut spool = Vec::new();
        let mut dup = Closing {
            got: Vec::new(),
            left: 1000,
        };
        let mut input = &data[..];
        let err = copy(
            &mut input,
            Some(&mut spool),
            Some(&mut dup),
            &crate::report::Silent,
        );
        assert!(err.is_none());
        assert_eq!(spool, data, "the whole log is spooled");
        assert_eq!(dup.got, &data[..1000]);

        let mut spool = Closing {
            got: Vec::new(),
            left: 70_000,
        };
        let mut dup = Vec::new();
        let mut input = &data[..];
        let err = copy(
            &mut input,
            Some(&mut spool),
            Some(&mut dup),
            &crate::report::Silent,
        );
        assert_eq!(err.unwrap().kind(), ErrorKind::BrokenPipe);
        assert_eq!(dup, data, "the whole log is duplicated");
        assert!(input.is_empty(), "the input is read to its end");
    }
}
