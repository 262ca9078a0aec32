//! The names of every object the project writes into a store, and the one check a name passes.
//!
//! Artifacts and flags keep the original scripts' layout (`<prefix>NAME`, `<prefix>NAME.flag`).
//! Everything else lives under `.ci3/`, a name no build script chooses for an artifact.

use crate::error::{Error, Kind, Result};

/// Where the objects of our own kinds live.
pub const RESERVED: &str = ".ci3/";
/// Input manifests, one beside each artifact built from a content hash.
pub const MANIFESTS: &str = ".ci3/manifest/";
/// Logs kept by `cache_log`.
pub const LOGS: &str = ".ci3/logs/";
/// The test cache: one object per passed test line.
pub const TEST_CACHE: &str = ".ci3/tests/";
/// The task runner's run records.
pub const RUNS: &str = ".ci3/runs/";

/// The object of artifact NAME.
pub fn artifact(name: &str) -> Result<String> {
    check_name(name)?;
    Ok(name.to_string())
}

/// The object of success flag NAME.
pub fn flag(name: &str) -> Result<String> {
    check_name(name)?;
    Ok(format!("{name}.flag"))
}

/// The object holding the input manifest of artifact NAME.
pub fn manifest(artifact: &str) -> Result<String> {
    check_name(artifact)?;
    Ok(format!("{MANIFESTS}{artifact}.json"))
}

/// The object of the log with this key.
pub fn log(key: &str) -> Result<String> {
    if key.contains('/') {
        return Err(Error::usage(format!(
            "invalid log key '{key}': it must be a name without '/'"
        )));
    }
    check_name(key)?;
    Ok(format!("{LOGS}{key}.log"))
}

/// The test-cache entry of a test line's key (`hash_str_orig` of the line).
pub fn test_cache(key: &str) -> Result<String> {
    if key.contains('/') {
        return Err(Error::usage(format!(
            "invalid test key '{key}': it must be a name without '/'"
        )));
    }
    check_name(key)?;
    Ok(format!("{TEST_CACHE}{key}"))
}

/// Refuses names that could address something outside the store's namespace, or split a
/// message line: empty, absolute, `.`/`..` or empty components, NUL or newline.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('/')
        || name
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        || name.contains(['\0', '\n'])
    {
        return Err(Error::new(
            Kind::Usage,
            format!("invalid artifact name {name:?}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_each_kind() {
        assert_eq!(flag("tests-abc").unwrap(), "tests-abc.flag");
        assert_eq!(manifest("a.zst").unwrap(), ".ci3/manifest/a.zst.json");
        assert_eq!(log("k1").unwrap(), ".ci3/logs/k1.log");
        assert!(log("a/b").is_err());
        assert_eq!(test_cache("0123abcd").unwrap(), ".ci3/tests/0123abcd");
        assert!(test_cache("a/b").is_err());
    }

    #[test]
    fn names_that_escape_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a\nb",
            "a\0b",
        ] {
            assert_eq!(check_name(bad).unwrap_err().kind(), Kind::Usage, "{bad:?}");
        }
        check_name("dir/app-0123.tar.gz").unwrap();
    }
}
