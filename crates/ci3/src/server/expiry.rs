//! The expiry of an entry, kept in its own bytes: `\0ci3exp\0` and a big-endian u64 of Unix
//! seconds before the content, so it is written atomically with the body on any backend and
//! needs no second object a racing writer could separate from it. No header: never expires.

/// What starts an expiring entry's bytes.
pub const MAGIC: &[u8; 8] = b"\0ci3exp\0";
pub const LEN: usize = 16;

/// The header of an entry expiring at `at` (Unix seconds).
pub fn header(at: u64) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..].copy_from_slice(&at.to_be_bytes());
    out
}

/// The header for an optional expiry: empty when the entry never expires.
pub fn prefix(at: Option<u64>) -> Vec<u8> {
    at.map(|at| header(at).to_vec()).unwrap_or_default()
}

/// The expiry written at the start of `bytes`, if they start with a header.
pub fn of(bytes: &[u8]) -> Option<u64> {
    if bytes.len() < LEN || &bytes[..8] != MAGIC {
        return None;
    }
    Some(u64::from_be_bytes(
        bytes[8..LEN].try_into().expect("8 bytes"),
    ))
}

/// How stored bytes read at `now`: `None` when expired, else the content (header stripped).
pub fn live(bytes: &[u8], now: u64) -> Option<&[u8]> {
    match of(bytes) {
        Some(at) if at <= now => None,
        Some(_) => Some(&bytes[LEN..]),
        None => Some(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let mut stored = header(100).to_vec();
        stored.extend_from_slice(b"value");
        assert_eq!(of(&stored), Some(100));
        assert_eq!(live(&stored, 99), Some(&b"value"[..]));
        assert_eq!(live(&stored, 100), None);
        assert_eq!(live(b"plain", u64::MAX), Some(&b"plain"[..]));
        assert_eq!(of(&stored[..15]), None);
    }
}
