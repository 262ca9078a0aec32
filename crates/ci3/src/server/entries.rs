//! The routes' entries read and written straight over a store, as the routes do (§3.5's
//! mapping): `ci3_client` works in-process with them when there is a store and no server.

pub use super::kv::{store_value as kv_set, value as kv_get, values as kv_mget};
pub use super::lists::{lines as list_get, push_line as list_push};
pub use super::logs::{names as log_list, store_text as log_put, text as log_get};
pub use super::runs::{record as run_get, store_record as run_put};

/// A list keeps this many newest lines unless a push says otherwise.
pub const LIST_DEFAULT: u64 = super::limits::LIST_DEFAULT;
/// The longest list line: longer ones are refused.
pub const LINE_MAX: u64 = super::limits::LINE;

/// The name an upstream route would accept for this `/`-separated text, if any.
pub use super::paths::key_line as valid_name;
