//! Cache keys from a checkout: rebuild patterns (POSIX EREs), the keys, and input manifests.

mod content;
pub mod ere;
mod hash_str;
mod key;
pub mod manifest;
pub mod patterns;

pub use content::{dirty_key, resolve, resolve_patterns, Resolved, Source};
pub use hash_str::{contains, hash_str, hash_str_orig, push_hex, short, unquoted_echo, SENTINEL};
pub use key::{ci3, strong};
