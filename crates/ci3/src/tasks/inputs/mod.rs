//! A task's inputs, each with its digest, and the total input digest that names a run:
//! resolved against the work tree and the environment (`resolution`), files found by globs
//! (`globs`) and by Go's package graph (`golang`).
//!
//! Files are named by their path relative to the root; their content id is the git blob id,
//! taken from the index when the stat data matches, so a file digests the same whether or not it
//! is committed and wherever the checkout is.

pub(crate) mod globs;
mod golang;
mod resolution;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

pub use resolution::{file_input, Resolver};

/// What an input is; part of its digest, so that a string never digests like a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    File,
    Env,
    String,
    Task,
}

impl InputKind {
    fn tag(self) -> &'static [u8] {
        match self {
            InputKind::File => b"ci3-task-input-file\0",
            InputKind::Env => b"ci3-task-input-env\0",
            InputKind::String => b"ci3-task-input-string\0",
            InputKind::Task => b"ci3-task-input-task\0",
        }
    }
}

/// One input with its digest. Environment variables are named, never valued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub kind: InputKind,
    /// A file's path relative to the root, a variable's name, the string, or the task id.
    pub name: String,
    /// Written `blake3:<hex>`.
    pub digest: Digest,
}

impl Input {
    /// How listings show it: a file as its path, the rest with a prefix saying what it is.
    pub fn shown(&self) -> String {
        match self.kind {
            InputKind::File => self.name.clone(),
            InputKind::Env => format!("${}", self.name),
            InputKind::String => format!("string:{}", self.name),
            InputKind::Task => format!("task:{}", self.name),
        }
    }
}

/// A task's inputs, sorted, and their total digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub inputs: Vec<Input>,
    pub total: Digest,
}

fn digest(kind: InputKind, parts: &[&[u8]]) -> Digest {
    let mut h = blake3::Hasher::new();
    h.update(kind.tag());
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    Digest::from_hasher(&h)
}

/// BLAKE3 over the sorted per-input digests, each in its `blake3:<hex>` text (sorting the bytes
/// sorts that text: lowercase hex keeps the order).
pub fn total_digest(inputs: &[Input]) -> Digest {
    let mut digests: Vec<Digest> = inputs.iter().map(|i| i.digest).collect();
    digests.sort_unstable();
    let mut h = blake3::Hasher::new();
    // `blake3:<hex>\n` written in place: a task can have 100,000 inputs.
    let mut line = *b"blake3:0000000000000000000000000000000000000000000000000000000000000000\n";
    for d in digests {
        hex::encode_to_slice(d.0, &mut line[7..71]).expect("64 hex digits");
        h.update(&line);
    }
    Digest::from_hasher(&h)
}

/// The digest of an input string, for `--lookup-input-str`.
pub fn string_input(s: &str) -> Input {
    Input {
        kind: InputKind::String,
        name: s.to_string(),
        digest: digest(InputKind::String, &[s.as_bytes()]),
    }
}
