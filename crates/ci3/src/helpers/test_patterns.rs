//! The entries of a repo's `.test_patterns.yml`, read as the original's `yq` read them.

use regex::bytes::Regex;
use serde_norway::Value;

use crate::error::{Error, Result};
use crate::{err, fail};

/// The entries of a `.test_patterns.yml`: a list, at the top or under `tests:` (the original's
/// layout, beside its `names:` of owner anchors, which YAML aliases resolve).
pub fn entries(text: &str) -> Result<Vec<Value>> {
    let doc: Value =
        serde_norway::from_str(text).map_err(|e| err!(Config, "not YAML: {}", one_line(e)))?;
    Ok(match doc {
        Value::Null => Vec::new(),
        Value::Sequence(entries) => entries,
        Value::Mapping(mut map) => match map.remove("tests") {
            Some(Value::Sequence(entries)) => entries,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => fail!(Config, "`tests` is not a list of entries"),
        },
        _ => fail!(Config, "not a list of entries with `regex`"),
    })
}

/// An entry's `regex` (a POSIX ERE, as the original's grep read it) as a regex; the error says
/// why it is not one, on one line.
pub fn entry_regex(ere: &str) -> Result<Regex> {
    let re = crate::hash::ere::translate(ere).map_err(|e| Error::config(one_line(e)))?;
    Regex::new(&re).map_err(|e| Error::config(one_line(e)))
}

/// A message on one line, as YAML and regex errors are not.
pub fn one_line(e: impl std::fmt::Display) -> String {
    e.to_string().replace('\n', " ")
}
