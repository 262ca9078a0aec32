//! The short hashes the original scripts print (`hash_str`) and the sentinel that disables caching.

use gix::ObjectId;

use crate::git::blob_id;

/// The sentinel that disables caching wherever it appears in a name.
pub const SENTINEL: &str = "disabled-cache";

/// Appends the lowercase hex of `bytes`.
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend(
        bytes
            .iter()
            .flat_map(|&b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]),
    );
}

/// `hash_str`: the sentinel if any argument contains it, else the first 16 hex chars of the blob
/// id of the arguments joined by single spaces plus a newline.
pub fn hash_str<S: AsRef<[u8]>>(args: &[S]) -> String {
    if args
        .iter()
        .any(|a| contains(a.as_ref(), SENTINEL.as_bytes()))
    {
        return SENTINEL.to_string();
    }
    let mut text = args
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(&b' ');
    text.push(b'\n');
    short(&blob_id(&text))
}

/// The first 16 hex chars of an id, as `cut -c1-16` leaves them.
pub fn short(id: &ObjectId) -> String {
    id.to_hex_with_len(16).to_string()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_str_matches_the_original() {
        assert_eq!(hash_str(&["abc"]), "8baef1b4abc47817");
        assert_eq!(hash_str(&["x", "disabled-cache-y"]), "disabled-cache");
        assert_eq!(hash_str(&["a", "b"]), hash_str(&["a b"]));
    }
}
