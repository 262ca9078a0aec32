//! A writer that digests and counts the bytes of an output as they are copied, once: staged by
//! a run before it is stored, fetched by a restore before it is placed.

use std::io::Write;

use crate::digest::Digest;

/// A writer that digests and counts what passes through it, and fails once the tool is
/// signalled: SIGINT/SIGTERM as the flag [`crate::process::signals`] sets, or as the runner's
/// forwarding took them (`task_run`, whose signals never reach a handler).
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
    size: u64,
}

impl<W: Write> Hashing<W> {
    pub(crate) fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: blake3::Hasher::new(),
            size: 0,
        }
    }

    /// The digest and size of what was written.
    pub(crate) fn finish(&self) -> (Digest, u64) {
        (Digest::from_hasher(&self.hasher), self.size)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::process::signals::check()?;
        if let Some(signal) = crate::process::interrupted() {
            // Not `ErrorKind::Interrupted`: std's write loops retry that kind forever.
            return Err(std::io::Error::other(format!(
                "interrupted by signal {signal}"
            )));
        }
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
