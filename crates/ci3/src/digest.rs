//! A BLAKE3 digest: of an artifact's bytes, a task's input or output, a run's total input.
//!
//! Records and listings write it `blake3:<64 hex>` (as baur prints digests); it is parsed once,
//! where it is read, and carried as this type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 32 bytes of BLAKE3.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

/// The algorithm prefix of a digest's text form.
const PREFIX: &str = "blake3:";

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// The digest a finished hasher holds.
    pub fn from_hasher(hasher: &blake3::Hasher) -> Digest {
        Digest(*hasher.finalize().as_bytes())
    }

    /// 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// 64 hex characters, either case.
    pub fn from_hex(hex: &str) -> Option<Digest> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex, &mut out).ok()?;
        Some(Digest(out))
    }

    /// `blake3:<hex>`, as records and listings say it.
    pub fn prefixed(&self) -> String {
        format!("{PREFIX}{}", self.to_hex())
    }

    /// `blake3:<hex>` read back.
    pub fn parse_prefixed(text: &str) -> Option<Digest> {
        Digest::from_hex(text.strip_prefix(PREFIX)?)
    }
}

/// The bare hex, as artifact names and trailers show it.
impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

/// In records, always the prefixed form.
impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.prefixed())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse_prefixed(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a digest: {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_and_refuse_what_is_not_a_digest() {
        let d = Digest::of(b"x");
        assert_eq!(d.to_string().len(), 64);
        assert_eq!(Digest::parse_prefixed(&d.prefixed()), Some(d));
        assert_eq!(Digest::from_hex(&d.to_hex().to_uppercase()), Some(d));
        assert_eq!(Digest::parse_prefixed(&d.to_hex()), None, "no prefix");
        assert_eq!(Digest::parse_prefixed("blake3:abc"), None, "too short");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", d.prefixed()));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha1:00\"").is_err());
    }
}
