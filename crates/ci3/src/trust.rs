//! Who made an object: Ed25519 signatures on artifacts and small objects, and the keys a reader accepts.
//!
//! A digest proves the bytes arrived as written, not who wrote them; anyone with bucket
//! credentials can write a name the main branch downloads next. Writers holding the signing key
//! (`CI3_SIGNING_KEY`) seal what they store; readers configured with `CI3_TRUSTED_KEYS` accept
//! only what one of those keys sealed, and treat anything else as a miss.
//!
//! - An artifact's seal is an 88-byte record after its integrity trailer (see `archive`):
//!   `ci3sig01`, the 8-byte key id, `u64le` unix time, and the signature over
//!   `ci3 artifact v1\0 NAME \0 DIGEST COVERED_LEN KEY_ID TIME`.
//! - A small object (a flag, a test-cache entry, a run record) is signed by a last line
//!   `ci3-signature: v1 KEYID TIME SIGNATURE` (hex), over
//!   `ci3 object v1\0 NAME \0 BLAKE3(BODY) KEY_ID TIME`, where BODY is everything before that
//!   line: [`Trust::sign_bytes`] and [`Trust::verify_bytes`].
//!
//! The name is signed so a signed object cannot be replayed under another name; the time is
//! shown by `cache_verify`.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::archive::{Checked, Digest, Seal, SEAL_ID, SEAL_LEN};
use crate::error::{Error, Kind, Result};
use crate::settings::TrustVars;
use crate::{err, fail};

const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "ed25519-secret:";
const LINE_PREFIX: &str = "ci3-signature: v1 ";
/// The file names `cache_keygen` writes.
pub const SECRET_FILE: &str = "ci3-signing.key";
pub const PUBLIC_FILE: &str = "ci3-signing.pub";

/// A short name for a public key: the first 8 bytes of its BLAKE3 hash, in hex in messages.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    fn of(key: &VerifyingKey) -> KeyId {
        let hash = blake3::hash(key.as_bytes());
        KeyId(hash.as_bytes()[..8].try_into().expect("8 bytes"))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The private key a writer signs with.
pub struct Signer {
    key: SigningKey,
    id: KeyId,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret in a message or a log.
        write!(f, "Signer({})", self.id)
    }
}

impl Signer {
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key in a key file written by [`keygen`].
    pub fn load(path: &Path) -> Result<Signer> {
        let text = fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read the key file: {e}")))?;
        let seed = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                Error::config(format!("not a signing key file (one line {SECRET_PREFIX}<64 hex digits>, as cache_keygen writes)"))
            })?;
        let key = SigningKey::from_bytes(&seed);
        let id = KeyId::of(&key.verifying_key());
        Ok(Signer { key, id })
    }

    /// The line `CI3_TRUSTED_KEYS` takes for this key.
    pub fn public_line(&self) -> String {
        public_line(&self.key.verifying_key())
    }
}

fn public_line(key: &VerifyingKey) -> String {
    format!("{PUBLIC_PREFIX}{}", hex::encode(key.as_bytes()))
}

/// A public key a reader accepts objects from.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    key: VerifyingKey,
    pub id: KeyId,
}

impl TrustedKey {
    /// `ed25519:<64 hex digits>`.
    pub fn parse(word: &str) -> Option<TrustedKey> {
        let bytes: [u8; 32] = hex::decode(word.strip_prefix(PUBLIC_PREFIX)?)
            .ok()?
            .try_into()
            .ok()?;
        let key = VerifyingKey::from_bytes(&bytes).ok()?;
        Some(TrustedKey {
            id: KeyId::of(&key),
            key,
        })
    }
}

/// What a stored object says about its signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed {
    Unsigned,
    /// Signed by `key` at `time`; `valid` says whether the signature verified, and is `None`
    /// when `key` is not a trusted one (there is nothing to check it with).
    By {
        key: KeyId,
        time: u64,
        valid: Option<bool>,
    },
}

impl Signed {
    /// Signed by a trusted key, and the signature verified.
    pub fn trusted(&self) -> bool {
        matches!(
            self,
            Signed::By {
                valid: Some(true),
                ..
            }
        )
    }

    /// The words a refusal is reported with.
    pub fn describe(&self) -> String {
        match self {
            Signed::Unsigned => "untrusted (unsigned)".into(),
            Signed::By {
                key, valid: None, ..
            } => format!("untrusted (signed by {key})"),
            Signed::By {
                key,
                valid: Some(false),
                ..
            } => format!("untrusted (signed by {key}, but the signature does not verify)"),
            Signed::By { key, .. } => format!("trusted (signed by {key})"),
        }
    }
}

/// What this job signs with and whom it trusts: built once from the settings by `store::open`
/// (in `Selected::trust`), so every reader and writer of the store sees the same policy.
#[derive(Debug, Default)]
pub struct Trust {
    signer: Option<Signer>,
    /// `None`: no `CI3_TRUSTED_KEYS`, everything is accepted as before.
    trusted: Option<Vec<TrustedKey>>,
}

impl Trust {
    /// Reads the key file and the trusted keys; either being unusable is a configuration error
    /// naming the variable and value.
    pub fn from_vars(vars: &TrustVars) -> Result<Trust> {
        let signer =
            match &vars.signing_key {
                Some(path) => Some(Signer::load(path).map_err(|why| {
                    why.context(format_args!("CI3_SIGNING_KEY={}", path.display()))
                })?),
                None => None,
            };
        let trusted = match &vars.trusted_keys {
            Some(value) => Some(
                parse_trusted(value)
                    .map_err(|why| why.context(format!("CI3_TRUSTED_KEYS={value}")))?,
            ),
            None => None,
        };
        Ok(Trust { signer, trusted })
    }

    /// A policy from keys at hand (tests, tools that build their own).
    pub fn new(signer: Option<Signer>, trusted: Option<Vec<TrustedKey>>) -> Trust {
        Trust { signer, trusted }
    }

    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }

    /// Whether readers check signatures (`CI3_TRUSTED_KEYS` is set).
    pub fn checks(&self) -> bool {
        self.trusted.is_some()
    }

    fn key(&self, id: KeyId) -> Option<&TrustedKey> {
        self.trusted.as_ref()?.iter().find(|k| k.id == id)
    }

    /// The seal for artifact `name` whose compressed bytes hash to `digest`, when signing.
    pub fn seal_artifact(&self, name: &str, digest: &Digest, covered: u64) -> Option<Seal> {
        let signer = self.signer.as_ref()?;
        let time = crate::clock::now_secs();
        let signature = signer
            .key
            .sign(&artifact_message(name, digest, covered, signer.id, time));
        let mut seal = [0u8; SEAL_LEN];
        seal[..8].copy_from_slice(SEAL_ID);
        seal[8..16].copy_from_slice(&signer.id.0);
        seal[16..24].copy_from_slice(&time.to_le_bytes());
        seal[24..].copy_from_slice(&signature.to_bytes());
        Some(seal)
    }

    /// Who sealed artifact `name`, as far as the trusted keys can tell.
    pub fn inspect_artifact(&self, name: &str, checked: &Checked) -> Signed {
        let (Some(digest), Some(seal)) = (&checked.digest, &checked.seal) else {
            return Signed::Unsigned;
        };
        let key = KeyId(seal[8..16].try_into().expect("8 bytes"));
        let time = u64::from_le_bytes(seal[16..24].try_into().expect("8 bytes"));
        let signature = Signature::from_bytes(seal[24..].try_into().expect("64 bytes"));
        let message = artifact_message(name, digest, checked.compressed_len, key, time);
        let valid = self
            .key(key)
            .map(|k| k.key.verify_strict(&message, &signature).is_ok());
        Signed::By { key, time, valid }
    }

    /// Accepts artifact `name` when no trusted keys are configured or a trusted key sealed it;
    /// else a `Kind::Untrusted` error saying who signed it.
    pub fn accept_artifact(&self, name: &str, checked: &Checked) -> Result<()> {
        if !self.checks() {
            return Ok(());
        }
        refuse_unless_trusted(name, self.inspect_artifact(name, checked))
    }

    /// `body` with a signature line appended when signing (a newline first when the body does
    /// not end in one), else `body` unchanged: what to store under `name`.
    pub fn sign_bytes(&self, name: &str, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        let Some(signer) = &self.signer else {
            return out;
        };
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        let time = crate::clock::now_secs();
        let signature = signer
            .key
            .sign(&object_message(name, &out, signer.id, time));
        out.extend_from_slice(
            format!(
                "{LINE_PREFIX}{} {time} {}\n",
                signer.id,
                hex::encode(signature.to_bytes())
            )
            .as_bytes(),
        );
        out
    }

    /// The body of object `name` as stored (`stored`), and who signed it.
    pub fn inspect_bytes<'a>(&self, name: &str, stored: &'a [u8]) -> (&'a [u8], Signed) {
        let Some((body, line)) = split_signature_line(stored) else {
            return (stored, Signed::Unsigned);
        };
        let parsed = (|| {
            let mut words = line.split(' ');
            let key = KeyId(hex::decode(words.next()?).ok()?.try_into().ok()?);
            let time: u64 = words.next()?.parse().ok()?;
            let sig: [u8; 64] = hex::decode(words.next()?).ok()?.try_into().ok()?;
            words.next().is_none().then_some((key, time, sig))
        })();
        let Some((key, time, sig)) = parsed else {
            return (body, Signed::Unsigned);
        };
        let message = object_message(name, body, key, time);
        let valid = self.key(key).map(|k| {
            k.key
                .verify_strict(&message, &Signature::from_bytes(&sig))
                .is_ok()
        });
        (body, Signed::By { key, time, valid })
    }

    /// The body of object `name`: everything before its signature line. With trusted keys
    /// configured, only when one of them signed it; else a `Kind::Untrusted` error (a caller
    /// treats it as a miss). Without, any object's body, signed or not.
    pub fn verify_bytes<'a>(&self, name: &str, stored: &'a [u8]) -> Result<&'a [u8]> {
        let (body, signed) = self.inspect_bytes(name, stored);
        if self.checks() {
            refuse_unless_trusted(name, signed)?;
        }
        Ok(body)
    }
}

/// [`Trust::sign_bytes`]: what to store as small object `name` (a flag, a test-cache entry, a
/// run record).
pub fn sign_bytes(trust: &Trust, name: &str, body: &[u8]) -> Vec<u8> {
    trust.sign_bytes(name, body)
}

/// [`Trust::verify_bytes`]: the body of small object `name` as read from the store, or a
/// `Kind::Untrusted` error to treat as a miss.
pub fn verify_bytes<'a>(trust: &Trust, name: &str, stored: &'a [u8]) -> Result<&'a [u8]> {
    trust.verify_bytes(name, stored)
}

fn refuse_unless_trusted(name: &str, signed: Signed) -> Result<()> {
    if signed.trusted() {
        return Ok(());
    }
    Err(Error::new(
        Kind::Untrusted,
        format!("{name} is {}; not used", signed.describe()),
    ))
}

/// `(body, signature words)` when `stored` ends in a signature line.
fn split_signature_line(stored: &[u8]) -> Option<(&[u8], &str)> {
    let without_newline = stored.strip_suffix(b"\n")?;
    let start = without_newline
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = std::str::from_utf8(&without_newline[start..]).ok()?;
    Some((&stored[..start], line.strip_prefix(LINE_PREFIX)?))
}

fn artifact_message(name: &str, digest: &Digest, covered: u64, key: KeyId, time: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + name.len());
    m.extend_from_slice(b"ci3 artifact v1\0");
    m.extend_from_slice(name.as_bytes());
    m.push(0);
    m.extend_from_slice(&digest.0);
    m.extend_from_slice(&covered.to_le_bytes());
    m.extend_from_slice(&key.0);
    m.extend_from_slice(&time.to_le_bytes());
    m
}

fn object_message(name: &str, body: &[u8], key: KeyId, time: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + name.len());
    m.extend_from_slice(b"ci3 object v1\0");
    m.extend_from_slice(name.as_bytes());
    m.push(0);
    m.extend_from_slice(blake3::hash(body).as_bytes());
    m.extend_from_slice(&key.0);
    m.extend_from_slice(&time.to_le_bytes());
    m
}

/// The keys of `CI3_TRUSTED_KEYS`: words `ed25519:HEX`, or paths of files holding such a word
/// first on each line (`#` lines and blank lines skipped, anything after the key a comment).
fn parse_trusted(value: &str) -> Result<Vec<TrustedKey>> {
    let mut keys = Vec::new();
    for word in value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if word.starts_with(PUBLIC_PREFIX) {
            keys.push(TrustedKey::parse(word).ok_or_else(|| {
                Error::config(format!(
                    "'{word}' is not a public key ({PUBLIC_PREFIX}<64 hex digits>)"
                ))
            })?);
            continue;
        }
        let text = fs::read_to_string(word).map_err(|e| {
            Error::config(format!("'{word}' is neither a public key ({PUBLIC_PREFIX}<64 hex digits>) nor a readable file: {e}"))
        })?;
        for (n, line) in text.lines().enumerate() {
            let Some(first) = line.split_whitespace().next() else {
                continue;
            };
            if first.starts_with('#') {
                continue;
            }
            keys.push(TrustedKey::parse(first).ok_or_else(|| {
                err!(
                    Config,
                    "{word}:{}: '{first}' is not a public key ({PUBLIC_PREFIX}<64 hex digits>)",
                    n + 1
                )
            })?);
        }
    }
    if keys.is_empty() {
        fail!(Config, "no public key in it");
    }
    Ok(keys)
}

/// What `keygen` made.
pub struct Generated {
    pub id: KeyId,
    /// The line for `CI3_TRUSTED_KEYS`.
    pub public: String,
    pub secret_file: PathBuf,
    pub public_file: PathBuf,
}

/// A new key pair in `dir` (created if missing): the private key in `ci3-signing.key` (mode
/// 0600, never replaced), the public key line in `ci3-signing.pub`.
pub fn keygen(dir: &Path) -> Result<Generated> {
    fs::create_dir_all(dir)
        .map_err(|e| Error::io(dir, format!("cannot create {}: {e}", dir.display())))?;
    let seed = crate::random::bytes::<32>()
        .map_err(|e| Error::new(Kind::Io, format!("no randomness from the OS: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let verifying = key.verifying_key();
    let secret_file = dir.join(SECRET_FILE);
    let public_file = dir.join(PUBLIC_FILE);
    let mut file = fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&secret_file)
        .map_err(|e| {
            Error::io(
                &secret_file,
                format!("cannot create {}: {e}", secret_file.display()),
            )
        })?;
    file.write_all(format!("{SECRET_PREFIX}{}\n", hex::encode(seed)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            Error::io(
                &secret_file,
                format!("cannot write {}: {e}", secret_file.display()),
            )
        })?;
    let public = public_line(&verifying);
    fs::write(&public_file, format!("{public}\n")).map_err(|e| {
        Error::io(
            &public_file,
            format!("cannot write {}: {e}", public_file.display()),
        )
    })?;
    Ok(Generated {
        id: KeyId::of(&verifying),
        public,
        secret_file,
        public_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path) -> (Signer, TrustedKey) {
        let made = keygen(dir).unwrap();
        (
            Signer::load(&made.secret_file).unwrap(),
            TrustedKey::parse(&made.public).unwrap(),
        )
    }

    #[test]
    fn keygen_writes_a_private_key_only_its_owner_reads() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let made = keygen(tmp.path()).unwrap();
        let mode = fs::metadata(&made.secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Signer::load(&made.secret_file).unwrap().id(), made.id);
        assert_eq!(made.id.to_string().len(), 16);
        assert!(keygen(tmp.path()).is_err(), "never replaces a key");
    }

    #[test]
    fn small_objects_verify_only_under_a_trusted_key_and_their_name() {
        let tmp = tempfile::tempdir().unwrap();
        let (signer, trusted) = pair(&tmp.path().join("a"));
        let (foreign, _) = pair(&tmp.path().join("b"));
        let writer = Trust::new(Some(signer), None);
        let reader = Trust::new(None, Some(vec![trusted]));
        let stored = writer.sign_bytes("x.flag", b"run: 1\n");
        assert_eq!(reader.verify_bytes("x.flag", &stored).unwrap(), b"run: 1\n");
        // Unchecked readers see the body too; an object without a trailing newline gains one.
        assert_eq!(
            Trust::default().verify_bytes("x.flag", &stored).unwrap(),
            b"run: 1\n"
        );
        let json = writer.sign_bytes("r.json", b"{}");
        assert_eq!(reader.verify_bytes("r.json", &json).unwrap(), b"{}\n");

        let err = reader.verify_bytes("y.flag", &stored).unwrap_err();
        assert_eq!(err.kind(), Kind::Untrusted);
        let err = reader.verify_bytes("x.flag", b"run: 1\n").unwrap_err();
        assert_eq!(err.to_string(), "x.flag is untrusted (unsigned); not used");
        let other = Trust::new(Some(foreign), None).sign_bytes("x.flag", b"run: 1\n");
        let err = reader.verify_bytes("x.flag", &other).unwrap_err();
        assert!(err.to_string().contains("untrusted (signed by "), "{err}");
        let mut tampered = stored.clone();
        tampered[5] = b'2';
        assert!(reader.verify_bytes("x.flag", &tampered).is_err());
    }

    #[test]
    fn trusted_keys_come_as_words_or_files_and_bad_ones_are_config_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let made = keygen(tmp.path()).unwrap();
        let vars = |v: &str| TrustVars {
            signing_key: None,
            trusted_keys: Some(v.into()),
        };
        let file = tmp.path().join("keys");
        fs::write(&file, format!("# main\n{} main branch\n\n", made.public)).unwrap();
        let t = Trust::from_vars(&vars(&file.display().to_string())).unwrap();
        assert_eq!(t.trusted.unwrap()[0].id, made.id);
        let t = Trust::from_vars(&vars(&format!("{}, {}", made.public, made.public))).unwrap();
        assert_eq!(t.trusted.unwrap().len(), 2);
        for bad in ["ed25519:abc", "/nonexistent/keys"] {
            let err = Trust::from_vars(&vars(bad)).unwrap_err();
            assert_eq!(err.kind(), Kind::Config);
            assert!(err
                .to_string()
                .starts_with(&format!("CI3_TRUSTED_KEYS={bad}: ")));
        }
        let err = Trust::from_vars(&TrustVars {
            signing_key: Some(made.public_file.clone()),
            trusted_keys: None,
        })
        .unwrap_err();
        assert_eq!(err.kind(), Kind::Config);
    }
}
