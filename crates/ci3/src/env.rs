//! The environment variables the tools share.

/// CI mode: `CI=1` or `CI=true`, as `ci3/source` normalises it.
pub fn ci() -> bool {
    flag("CI")
}

/// A variable set to `1` or `true`.
pub fn flag(name: &str) -> bool {
    matches!(std::env::var(name).as_deref(), Ok("1") | Ok("true"))
}

/// A variable that is set and not empty.
pub fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `$XDG_CACHE_HOME/ci3`, else `~/.cache/ci3`: the machine-local state of the tools.
pub fn cache_home() -> std::path::PathBuf {
    let base = non_empty("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into()))
                .join(".cache")
        });
    base.join("ci3")
}
