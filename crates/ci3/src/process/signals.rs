//! SIGINT and SIGTERM turned into a flag that transfers check, so an interrupted tool cleans up
//! (aborts its multipart upload, removes its temporary files) before it exits.

use std::sync::atomic::{AtomicI32, Ordering};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn note(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM set the flag instead of ending the process at once.
pub fn install() {
    let handler: extern "C" fn(libc::c_int) = note;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(signal, handler as libc::sighandler_t);
        }
    }
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// An error for a transfer stopped by a signal.
pub fn check() -> std::io::Result<()> {
    match received() {
        // Not `ErrorKind::Interrupted`: std's read loops retry that kind forever.
        Some(signal) => Err(std::io::Error::other(format!(
            "interrupted by signal {signal}"
        ))),
        None => Ok(()),
    }
}
