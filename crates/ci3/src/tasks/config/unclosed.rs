//! Where a TOML string that is never closed starts: the toml parser reports it where it gives up,
//! often lines later and as another mistake ("missing comma between array elements").

/// The byte offset of the opening quote of the first string in `text` that is not closed: a
/// basic or literal string by the end of its line, a multi-line one by the end of the text.
pub(super) fn unclosed_string(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |n| i + n)
            }
            q @ (b'"' | b'\'') => match closing(b, i, q) {
                Some(after) => i = after,
                None => return Some(i),
            },
            _ => i += 1,
        }
    }
    None
}

/// Just past the end of the string whose opening quote `q` is at `start`; `None` when it is not
/// closed. Only basic strings (`"`) have escapes.
fn closing(b: &[u8], start: usize, q: u8) -> Option<usize> {
    let triple = b[start..].starts_with(&[q, q, q]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            b'\n' if !triple => return None,
            c if c == q && !triple => return Some(i + 1),
            c if c == q && b[i..].starts_with(&[q, q, q]) => {
                // A multi-line string may end with up to two quotes of its kind before the three.
                let mut end = i + 3;
                while end < b.len() && end < i + 5 && b[end] == q {
                    end += 1;
                }
                return Some(end);
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unclosed_string;

    #[test]
    fn finds_the_opening_quote_of_a_string_left_open() {
        let at = |t: &str| unclosed_string(t);
        assert_eq!(
            at("a = \"x\"\nb = 'y'\n# \"no\nc = \"\"\"\nz\"\"\"\"\n"),
            None
        );
        assert_eq!(at("a = \"x\\\"\"\nb = \"y\n"), Some(14));
        assert_eq!(at("a = [\"make]\n[T]\n"), Some(5));
        assert_eq!(at("a = '''\nb\n"), Some(4));
        assert_eq!(
            at("a = 'c:\\'\nb = \"\n"),
            Some(14),
            "no escapes in literal strings"
        );
        assert_eq!(at("a = \"x\" # \"\n"), None, "a quote in a comment");
    }
}
