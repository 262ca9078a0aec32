//! What long operations tell the person waiting: notes in order, and the progress of transfers.
//!
//! The library never prints: it hands lines and byte counts to a `Reporter`, and the executable
//! decides where they go (stderr, a progress bar on a terminal, nowhere).

/// Receives what an operation has to say while it runs.
pub trait Reporter: Send + Sync {
    /// One line for the person waiting: a phrase scripts rely on, a warning, a retry notice.
    fn note(&self, line: &str);
    /// One line of the work's own output (what a task's command prints), which a tool may show
    /// apart from its notes (`task_run -o` prints it on stdout); a note unless told otherwise.
    fn output(&self, line: &str) {
        self.note(line);
    }
    /// A transfer of `total` bytes (when known) begins; its progress goes to what this returns.
    fn transfer(&self, _label: &str, _total: Option<u64>) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}

/// Bytes moved so far in one transfer.
pub trait Progress: Send + Sync {
    fn advance(&self, bytes: u64);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _bytes: u64) {}
}

/// Says nothing: for callers that only want the outcome.
pub struct Silent;

impl Reporter for Silent {
    fn note(&self, _line: &str) {}
}

/// Keeps the notes, for tests and for callers that show them later.
#[derive(Default)]
pub struct Collect(pub std::sync::Mutex<Vec<String>>);

impl Reporter for Collect {
    fn note(&self, line: &str) {
        self.0.lock().expect("notes").push(line.to_string());
    }
}

/// A writer that counts what passes through it into a `Progress`.
pub struct Counting<'a, W> {
    pub inner: W,
    pub progress: &'a dyn Progress,
}

// Every transfer passes through here, so this is where one stops when the tool is interrupted.
impl<W: std::io::Write> std::io::Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::process::signals::check()?;
        let n = self.inner.write(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: std::io::Read> std::io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        crate::process::signals::check()?;
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}
