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
