//! Which mechanism sees a traced tree's read-only opens: fanotify where the tracer may, a seccomp
//! notification where the kernel offers it, a ptrace stop everywhere; `CI3_TRACE_READS` chooses.

use std::path::Path;

use super::notify;
use super::watch::{self, Watch};
use crate::Result;

/// The variable that forces a mechanism: `auto` (the default), `fanotify`, `notify` or `ptrace`.
pub const VARIABLE: &str = "CI3_TRACE_READS";

/// How the read-only opens are seen.
pub(super) enum Reads {
    /// Through fanotify, asynchronously: the opens run unstopped (see `watch`).
    Watched(Watch),
    /// Through seccomp user notification, answered by supervisor threads (see `notify`).
    Notified,
    /// As ptrace stops, like every other traced call.
    Stopped,
}

impl Reads {
    /// The mechanism's name, as `CI3_TRACE_READS` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Reads::Watched(_) => "fanotify",
            Reads::Notified => "notify",
            Reads::Stopped => "ptrace",
        }
    }
}

/// The mechanism for a trace run in `cwd`, `probes` or not: the cheapest that works here unless
/// `CI3_TRACE_READS` names one, which then must work. Probes are failed opens and stats, which
/// fanotify does not see.
pub(super) fn choose(probes: bool, cwd: &Path) -> Result<Reads> {
    let asked = std::env::var(VARIABLE).unwrap_or_default();
    match asked.as_str() {
        "" | "auto" => {
            if !probes {
                if let Ok(w) = watch::start(cwd) {
                    return Ok(Reads::Watched(w));
                }
            }
            Ok(if notify::supported() {
                Reads::Notified
            } else {
                Reads::Stopped
            })
        }
        "fanotify" if probes => crate::fail!(
            Config,
            "{VARIABLE}=fanotify cannot trace probes (fanotify sees no failed open and no stat): \
             use notify or ptrace"
        ),
        "fanotify" => watch::start(cwd).map(Reads::Watched).map_err(|e| {
            let why = e.raw_os_error().map_or(e.to_string(), |n| {
                nix::errno::Errno::from_raw(n).to_string()
            });
            crate::err!(
                Config,
                "{VARIABLE}=fanotify: fanotify is not available here ({why}; it needs \
                 CAP_SYS_ADMIN): cannot trace"
            )
        }),
        "notify" if !notify::supported() => crate::fail!(
            Config,
            "{VARIABLE}=notify: this kernel has no seccomp user notification with synchronous \
             wake-ups (Linux 6.6): cannot trace"
        ),
        "notify" => Ok(Reads::Notified),
        "ptrace" => Ok(Reads::Stopped),
        other => crate::fail!(
            Config,
            "{VARIABLE}={other:?}: expected auto, fanotify, notify or ptrace"
        ),
    }
}
