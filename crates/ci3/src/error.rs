//! The library's one error type: a kind the executables map to exit codes, and one line of text.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, as far as a caller deciding what to do next cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The command line is wrong.
    Usage,
    /// A setting (environment variable, configuration file) cannot be right.
    Config,
    /// What was asked for is not there.
    Miss,
    /// The store refused the credentials (HTTP 401/403), or there are none where needed.
    Denied,
    /// The store could not be reached (connection refused, DNS, 5xx after retries).
    Unreachable,
    /// The store stopped answering: no byte within the idle timeout. Not retried: a server
    /// that was silent for that long will not answer a moment later.
    TimedOut,
    /// The store answered something that makes no sense.
    Store,
    /// Bytes are not what was written (digest mismatch, truncation, undecodable data), or an
    /// archive holds an entry that extraction refuses.
    Corrupt,
    /// A local file or directory could not be read or written; `path` says which.
    Io,
    /// The object is intact but not signed by a trusted key (`CI3_TRUSTED_KEYS`): treated as a
    /// miss, never used.
    Untrusted,
}

#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    path: Option<PathBuf>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(Kind::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(Kind::Config, message)
    }

    /// A local I/O failure at `path`; the message says what was being done there.
    pub fn io(path: &Path, message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Io,
            message: message.into(),
            path: Some(path.to_path_buf()),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether the store could not be reached at all (refused, DNS, silent, 5xx).
    pub fn is_unreachable(&self) -> bool {
        matches!(self.kind, Kind::Unreachable | Kind::TimedOut)
    }

    /// The local path an `Io` error concerns.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The message without the kind's prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Classifies an error from the layers that still return `anyhow` (archive, git, config):
    /// a typed cause found in its chain decides the kind, anything else is `fallback`.
    pub fn from_anyhow(err: anyhow::Error, fallback: Kind) -> Self {
        if let Some(own) = err.chain().find_map(|e| e.downcast_ref::<Error>()) {
            let kind = own.kind;
            let path = own.path.clone();
            return Error {
                kind,
                message: one_line(&err),
                path,
            };
        }
        let kind = match crate::archive::archive_error(&err) {
            Some(crate::archive::ArchiveError::MissingInput(_)) => Kind::Io,
            Some(_) => Kind::Corrupt,
            None => fallback,
        };
        Error::new(kind, one_line(&err))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Store failures keep the word scripts and people grep for in front.
        match self.kind {
            Kind::Denied => write!(f, "denied: {}", self.message),
            Kind::Unreachable | Kind::TimedOut => write!(f, "unreachable: {}", self.message),
            Kind::Store => write!(f, "store error: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        std::io::Error::other(err)
    }
}

/// An `anyhow` error and its causes on one line (a newline in a cause would split the message).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut s = format!("{err:#}");
    s = s.replace('\n', " ");
    s
}
