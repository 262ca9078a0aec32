//! The difference between two sets of inputs, keyed by how an input is shown (a file's path,
//! `$NAME`, `string:S`, `task:ID`).

use std::collections::BTreeMap;

use super::inputs::Input;

/// How an input differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In both, with different digests.
    Changed,
    /// Only in the first.
    OnlyInA,
    /// Only in the second.
    OnlyInB,
}

impl State {
    /// The original's letters: `D`, `-`, `+`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Changed => "D",
            State::OnlyInA => "-",
            State::OnlyInB => "+",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub state: State,
    pub input: String,
    /// Empty when the input is not in A.
    pub digest_a: String,
    /// Empty when the input is not in B.
    pub digest_b: String,
}

/// Every input that differs, sorted by name.
pub fn diff(a: &[Input], b: &[Input]) -> Vec<Difference> {
    let index = |v: &[Input]| -> BTreeMap<String, String> {
        v.iter().map(|i| (i.shown(), i.digest.clone())).collect()
    };
    let (a, b) = (index(a), index(b));
    let mut out = Vec::new();
    for (name, da) in &a {
        match b.get(name) {
            Some(db) if db == da => {}
            Some(db) => out.push(Difference {
                state: State::Changed,
                input: name.clone(),
                digest_a: da.clone(),
                digest_b: db.clone(),
            }),
            None => out.push(Difference {
                state: State::OnlyInA,
                input: name.clone(),
                digest_a: da.clone(),
                digest_b: String::new(),
            }),
        }
    }
    for (name, db) in &b {
        if !a.contains_key(name) {
            out.push(Difference {
                state: State::OnlyInB,
                input: name.clone(),
                digest_a: String::new(),
                digest_b: db.clone(),
            });
        }
    }
    out.sort_by(|x, y| x.input.cmp(&y.input));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::inputs::{string_input, InputKind};

    fn file(name: &str, digest: &str) -> Input {
        Input {
            kind: InputKind::File,
            name: name.into(),
            digest: digest.into(),
        }
    }

    #[test]
    fn changed_removed_added() {
        let a = [file("x", "1"), file("y", "2"), string_input("main")];
        let b = [file("x", "1"), file("y", "3"), file("z", "4")];
        let d = diff(&a, &b);
        let rows: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.state.as_str(), d.input.as_str()))
            .collect();
        assert_eq!(rows, [("-", "string:main"), ("D", "y"), ("+", "z")]);
        assert!(diff(&a, &a).is_empty());
    }
}
