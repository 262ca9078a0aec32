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

/// `hash_str_orig ARG`, the key of the test cache: what `echo $ARG | git hash-object --stdin |
/// cut -c1-16` gives with globbing off. No sentinel rule: a line carrying it is simply never
/// looked up.
pub fn hash_str_orig(arg: &[u8]) -> String {
    short(&blob_id(&unquoted_echo(arg)))
}

/// What bash's builtin `echo $ARG` writes: ARG split on the default IFS (runs of spaces, tabs
/// and newlines collapse), then the words as echo's arguments, so leading `-n`/`-e`/`-E` words
/// are options, as they would be in the shell.
pub fn unquoted_echo(arg: &[u8]) -> Vec<u8> {
    let mut words = arg
        .split(|b| matches!(b, b' ' | b'\t' | b'\n'))
        .filter(|w| !w.is_empty())
        .peekable();
    let (mut newline, mut escapes) = (true, false);
    while let Some(word) = words.peek() {
        let Some(flags) = word.strip_prefix(b"-") else {
            break;
        };
        if flags.is_empty() || !flags.iter().all(|f| b"neE".contains(f)) {
            break;
        }
        for f in flags {
            match f {
                b'n' => newline = false,
                b'e' => escapes = true,
                _ => escapes = false,
            }
        }
        words.next();
    }
    let mut out = Vec::with_capacity(arg.len() + 1);
    for (i, word) in words.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if escapes && !push_escaped(&mut out, word) {
            return out; // `\c`: nothing more, not even the newline
        }
        if !escapes {
            out.extend_from_slice(word);
        }
    }
    if newline {
        out.push(b'\n');
    }
    out
}

/// Appends `word` with `echo -e`'s backslash escapes interpreted; false after `\c`.
fn push_escaped(out: &mut Vec<u8>, word: &[u8]) -> bool {
    let digits = |rest: &[u8], radix: u32, max: usize| -> (u32, usize) {
        let mut value = 0;
        let mut n = 0;
        while n < max && n < rest.len() {
            match (rest[n] as char).to_digit(radix) {
                Some(d) => value = value * radix + d,
                None => break,
            }
            n += 1;
        }
        (value, n)
    };
    let mut i = 0;
    while i < word.len() {
        let b = word[i];
        i += 1;
        if b != b'\\' || i == word.len() {
            out.push(b);
            continue;
        }
        let e = word[i];
        i += 1;
        let simple = match e {
            b'a' => Some(7),
            b'b' => Some(8),
            b'e' | b'E' => Some(27),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' => Some(b'\\'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            continue;
        }
        match e {
            b'c' => return false,
            b'0' => {
                let (value, n) = digits(&word[i..], 8, 3);
                out.push(value as u8);
                i += n;
            }
            b'x' => match digits(&word[i..], 16, 2) {
                (_, 0) => out.extend_from_slice(b"\\x"),
                (value, n) => {
                    out.push(value as u8);
                    i += n;
                }
            },
            b'u' | b'U' => {
                let max = if e == b'u' { 4 } else { 8 };
                match digits(&word[i..], 16, max) {
                    (_, 0) => out.extend_from_slice(&[b'\\', e]),
                    (value, n) => {
                        let c = char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER);
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        i += n;
                    }
                }
            }
            _ => out.extend_from_slice(&[b'\\', e]),
        }
    }
    true
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

    #[test]
    fn unquoted_echo_splits_and_rejoins() {
        assert_eq!(unquoted_echo(b"  a \t b\n\nc  "), b"a b c\n");
        assert_eq!(unquoted_echo(b""), b"\n");
        assert_eq!(unquoted_echo(b"*"), b"*\n", "no globbing");
        assert_eq!(unquoted_echo(b"-n a"), b"a");
        assert_eq!(unquoted_echo(b"-nx a"), b"-nx a\n");
        assert_eq!(unquoted_echo(b"- a"), b"- a\n");
        assert_eq!(unquoted_echo(b"a -n"), b"a -n\n");
        assert_eq!(unquoted_echo(br"-e a\tb\x41\0101\q"), b"a\tbAA\\q\n");
        assert_eq!(unquoted_echo(br"-e a\cb"), b"a");
        assert_eq!(unquoted_echo(br"-eE a\tb"), b"a\\tb\n");
        assert_eq!(unquoted_echo(br"a\tb"), b"a\\tb\n");
    }

    #[test]
    fn hash_str_orig_has_no_sentinel_rule() {
        // `echo abc | git hash-object --stdin | cut -c1-16`.
        assert_eq!(hash_str_orig(b"abc"), "8baef1b4abc47817");
        assert_eq!(hash_str_orig(b"  abc  "), "8baef1b4abc47817");
        assert_ne!(hash_str_orig(b"disabled-cache x"), "disabled-cache");
    }
}
