//! App and task names as baur allows them, with the characters of our target syntax refused too.

use crate::Result;

/// Characters baur refuses in a name (`.`, `,`, `*`, `#`), and those our targets (`APP.TASK^`)
/// and store keys (`APP.TASK/...`) give a meaning.
const FORBIDDEN: [char; 6] = ['.', ',', '*', '#', '^', '/'];

/// baur's `validateTaskOrAppName`: not empty, none of the forbidden characters, no white space
/// at either end, printable characters only (an inner space is printable). The error names the
/// file and the field, and shows the name escaped: it reaches terminals and store keys.
pub(super) fn check_name(shown: &str, field: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        crate::fail!(Config, "{shown}: {field}: missing or empty");
    }
    let why = if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        format!("'{c}' character not allowed in name")
    } else if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        "contains leading or trailing white spaces".to_string()
    } else if let Some(c) = name.chars().find(|&c| !printable(c)) {
        format!("contains non-printable character: '{}'", go_escaped(c))
    } else {
        return Ok(());
    };
    let quoted: String = name.chars().map(go_escaped).collect();
    crate::fail!(Config, "{shown}: {field}: invalid name \"{quoted}\": {why}")
}

/// Go's `unicode.IsPrint`, as far as the standard library tells: no control character, no
/// white space but the ASCII space, and none of the invisible format characters that reorder
/// or hide text on a terminal.
fn printable(c: char) -> bool {
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}'))
}

/// `c` as Go's `%+q` writes it inside quotes: printable ASCII as is, the rest escaped.
fn go_escaped(c: char) -> String {
    match c {
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '"' | '\\' => format!("\\{c}"),
        ' '..='~' => c.to_string(),
        c if (c as u32) < 0x80 => format!("\\x{:02x}", c as u32),
        c if (c as u32) <= 0xffff => format!("\\u{:04x}", c as u32),
        c => format!("\\U{:08x}", c as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str) -> String {
        check_name("a/.app.toml", "name", name)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn names_as_baur_allows_them() {
        for ok in ["calc", "my app", "unit test 2", "ünï-côdé_1"] {
            check_name("a/.app.toml", "name", ok).unwrap();
        }
        assert_eq!(
            err("a,b"),
            "a/.app.toml: name: invalid name \"a,b\": ',' character not allowed in name"
        );
        assert_eq!(
            err("my.app"),
            "a/.app.toml: name: invalid name \"my.app\": '.' character not allowed in name"
        );
        assert_eq!(
            err("a\u{1b}[31mred"),
            "a/.app.toml: name: invalid name \"a\\x1b[31mred\": contains non-printable character: '\\x1b'"
        );
        assert_eq!(
            err("a\u{202e}b"),
            "a/.app.toml: name: invalid name \"a\\u202eb\": contains non-printable character: '\\u202e'"
        );
        assert_eq!(
            err("a "),
            "a/.app.toml: name: invalid name \"a \": contains leading or trailing white spaces"
        );
        assert_eq!(
            err("a\u{a0}b"),
            "a/.app.toml: name: invalid name \"a\\u00a0b\": contains non-printable character: '\\u00a0'"
        );
        assert_eq!(err(""), "a/.app.toml: name: missing or empty");
    }
}
