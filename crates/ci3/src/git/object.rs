//! Git object ids computed from bytes, as `git hash-object` computes them.

use std::io::Read;

use gix::ObjectId;
use sha1::{Digest, Sha1};

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
}
