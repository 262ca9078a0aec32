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
    /// The work itself failed (a command, a check) for a reason none of the above names.
    Failed,
}

impl Kind {
    /// The exit code a tool ends with on an error of this kind: the one table every executable
    /// uses. A configuration that cannot be right is 2, so that a typo is never read as "cached"
    /// or "failed" by a script; everything else is 1, as the original tools exit. (A command-line
    /// error caught by argument parsing exits with the code each tool's parser is given.)
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Config => 2,
            Kind::Usage
            | Kind::Miss
            | Kind::Denied
            | Kind::Unreachable
            | Kind::TimedOut
            | Kind::Store
            | Kind::Corrupt
            | Kind::Io
            | Kind::Untrusted
            | Kind::Failed => 1,
        }
    }
}

/// An error of the library: its kind, one line of text, the local path it concerns, and the
/// typed cause a caller may need to tell cases apart (an archive's corruption, say).
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    path: Option<PathBuf>,
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: None,
            cause: None,
        }
    }

    /// An error whose text is `cause`'s, kept so that [`Error::cause`] finds it again.
    pub fn from_cause(kind: Kind, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error {
            kind,
            message: cause.to_string(),
            path: None,
            cause: Some(Box::new(cause)),
        }
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::new(Kind::Corrupt, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Error::new(Kind::Failed, message)
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
            cause: None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The exit code of this error's kind.
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }

    /// The same error said as part of `what`: `what: message`. Kind, path and cause stay.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The same error as another kind (a missing file that is a configuration error, say).
    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// The typed cause of this error, if it is a `T`.
    pub fn cause<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.cause.as_deref().and_then(|c| c.downcast_ref::<T>())
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

/// A local I/O failure with no path known here; [`IoAt::at`] names one.
impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::new(Kind::Io, err.to_string())
    }
}

/// JSON that does not parse is data that is not what was written.
impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::new(Kind::Corrupt, err.to_string())
    }
}

/// Context for any result whose error converts into [`Error`].
pub trait ResultExt<T> {
    /// `what: message` on error, kind and path kept.
    fn context(self, what: impl fmt::Display) -> Result<T>;
    /// As `context`, the text made only on error.
    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T>;
    /// The error as `kind`.
    fn kind(self, kind: Kind) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(what))
    }

    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| e.into().context(what()))
    }

    fn kind(self, kind: Kind) -> Result<T> {
        self.map_err(|e| e.into().with_kind(kind))
    }
}

/// I/O results that name the path they concern.
pub trait IoAt<T> {
    /// `Io` at `path`: `doing PATH: cause` (e.g. `doing` = "cannot read").
    fn at(self, doing: &str, path: &Path) -> Result<T>;
}

impl<T> IoAt<T> for std::result::Result<T, std::io::Error> {
    fn at(self, doing: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(path, format!("{doing} {}: {e}", path.display())))
    }
}

/// `return Err(Error)` of a kind, the message formatted: `fail!(Config, "bad {x}")`.
#[macro_export]
macro_rules! fail {
    ($kind:ident, $($arg:tt)+) => {
        return Err($crate::Error::new($crate::Kind::$kind, format!($($arg)+)))
    };
}

/// An `Error` of a kind, the message formatted: `err!(Miss, "no {x}")`.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)+) => {
        $crate::Error::new($crate::Kind::$kind, format!($($arg)+))
    };
}

impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        std::io::Error::other(err)
    }
}
