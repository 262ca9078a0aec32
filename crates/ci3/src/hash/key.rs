//! The two cache keys computed from matched entries.

use super::hash_str as hashing;
use crate::git::blob_id;
use crate::git::Entry;

/// The original ci3 key: the blob id of the sorted entry ids (one per line), cut to 16 hex chars,
/// joined with the platform tag and passed through `hash_str`. Paths and modes do not count.
pub fn ci3(entries: &[Entry], platform: &str) -> String {
    // Lowercase hex sorts like the bytes it encodes, so the raw ids are sorted; as pairs of
    // big-endian integers they sort the same and compare without a call per comparison.
    let mut ids: Vec<(u128, u128, &[u8])> = entries
        .iter()
        .map(|e| {
            let bytes = e.id.as_bytes();
            let (high, low) = bytes.split_at(16.min(bytes.len()));
            let mut padded = [0u8; 16];
            padded[..low.len().min(16)].copy_from_slice(&low[..low.len().min(16)]);
            let high = u128::from_be_bytes(high.try_into().expect("ids have 16 bytes or more"));
            (high, u128::from_be_bytes(padded), bytes)
        })
        .collect();
    ids.sort_unstable();
    let mut text = Vec::with_capacity(ids.len() * 65);
    for (_, _, id) in ids {
        hashing::push_hex(&mut text, id);
        text.push(b'\n');
    }
    let content = hashing::short(&blob_id(&text));
    hashing::hash_str(&[format!("{content}-{platform}")])
}

/// Our key: BLAKE3 over every entry's path, mode and id (sorted by path) and the platform tag,
/// so renames, `chmod +x` and content moved between files change it. 128 bits, 32 hex chars.
pub fn strong(entries: &[Entry], platform: &str) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let mut h = blake3::Hasher::new_derive_key("ci3 content_hash v1");
    let mut field = |bytes: &[u8]| {
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(platform.as_bytes());
    for e in sorted {
        field(&e.path);
        field(e.mode.octal().as_bytes());
        field(e.id.as_bytes());
    }
    hex::encode(&h.finalize().as_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::Mode;

    fn entry(path: &str, mode: Mode, content: &str) -> Entry {
        Entry {
            path: path.into(),
            mode,
            id: blob_id(content.as_bytes()),
        }
    }

    #[test]
    fn strong_key_sees_what_the_ci3_key_does_not() {
        let base = vec![entry("a", Mode::File, "1"), entry("b", Mode::File, "2")];
        let renamed = vec![entry("a", Mode::File, "1"), entry("c", Mode::File, "2")];
        let chmod = vec![
            entry("a", Mode::Executable, "1"),
            entry("b", Mode::File, "2"),
        ];
        let swapped = vec![entry("a", Mode::File, "2"), entry("b", Mode::File, "1")];
        for other in [&renamed, &chmod, &swapped] {
            assert_eq!(ci3(&base, "p"), ci3(other, "p"));
            assert_ne!(strong(&base, "p"), strong(other, "p"));
        }
        assert_ne!(strong(&base, "p"), strong(&base, "q"));
        assert_eq!(strong(&base, "p").len(), 32);
    }
}
