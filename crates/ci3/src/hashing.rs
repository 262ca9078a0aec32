//! Git object ids and the short hashes the original scripts print.

use std::io::Read;

use gix::ObjectId;
use sha1::{Digest, Sha1};

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

/// The git blob id of `data`: SHA-1 of `"blob <len>\0" + data`, as `git hash-object` computes it.
pub fn blob_id(data: &[u8]) -> ObjectId {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", data.len()));
    h.update(data);
    ObjectId::from_bytes_or_panic(&h.finalize())
}

/// The git blob id of `len` bytes read from `reader`, streamed.
pub fn blob_id_of_reader(mut reader: impl Read, len: u64) -> std::io::Result<ObjectId> {
    let mut h = Sha1::new();
    h.update(format!("blob {len}\0"));
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        seen += n as u64;
        h.update(&buf[..n]);
    }
    if seen != len {
        return Err(std::io::Error::other(
            "file changed size while it was being hashed",
        ));
    }
    Ok(ObjectId::from_bytes_or_panic(&h.finalize()))
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
    fn blob_ids_match_git() {
        // `printf '' | git hash-object --stdin` and `echo hello | git hash-object --stdin`
        assert_eq!(
            blob_id(b"").to_string(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        assert_eq!(
            blob_id(b"hello\n").to_string(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        let streamed = blob_id_of_reader(&b"hello\n"[..], 6).unwrap();
        assert_eq!(streamed, blob_id(b"hello\n"));
    }

    #[test]
    fn hash_str_matches_the_original() {
        assert_eq!(hash_str(&["abc"]), "8baef1b4abc47817");
        assert_eq!(hash_str(&["x", "disabled-cache-y"]), "disabled-cache");
        assert_eq!(hash_str(&["a", "b"]), hash_str(&["a b"]));
    }
}
