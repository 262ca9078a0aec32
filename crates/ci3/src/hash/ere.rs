//! POSIX extended regular expressions, translated to the `regex` crate's syntax.
//!
//! The original ci3 script matched `.rebuild_patterns` lines with `awk '$4 ~ pattern'`, so a
//! pattern means what an awk ERE means: `{` that does not open a valid interval is a literal,
//! `*` with nothing to repeat is a literal, `a**` is legal, an unmatched `)` is a literal, a
//! backslash inside a bracket expression escapes the next character, and `.` matches newlines.
//! The `regex` crate rejects or reinterprets all of these, so patterns are rewritten first
//! rather than handed to it verbatim.

use std::fmt::{self, Write as _};

/// Why an ERE cannot be translated (an unmatched `(`, an unknown class, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEre(String);

impl fmt::Display for BadEre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadEre {}

/// Translates one POSIX ERE into an equivalent `regex` crate pattern.
pub fn translate(ere: &str) -> Result<String, BadEre> {
    Translator::new(ere).run()
}

struct Translator<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    src: &'a str,
    out: String,
    /// Where the last quantifiable atom starts in `out`, if the previous token was one.
    atom_start: Option<usize>,
    /// Whether the previous token was a quantifier (ERE allows `a**`, the regex crate does not).
    after_quantifier: bool,
    /// Output offsets of the currently open groups.
    groups: Vec<usize>,
}

impl<'a> Translator<'a> {
    fn new(src: &'a str) -> Self {
        Translator {
            chars: src.char_indices().peekable(),
            src,
            out: String::with_capacity(src.len() + 8),
            atom_start: None,
            after_quantifier: false,
            groups: Vec::new(),
        }
    }

    fn run(mut self) -> Result<String, BadEre> {
        while let Some((pos, c)) = self.chars.next() {
            match c {
                '\\' => {
                    let start = self.out.len();
                    let Some((_, e)) = self.chars.next() else {
                        return Err(BadEre("trailing backslash".into()));
                    };
                    let kind = self.escape(e, false)?;
                    self.token(start, kind);
                }
                '[' => {
                    let start = self.out.len();
                    self.bracket(pos)?;
                    self.token(start, Token::Atom);
                }
                '(' => {
                    self.groups.push(self.out.len());
                    self.out.push('(');
                    self.token(self.out.len(), Token::Barrier);
                }
                ')' => match self.groups.pop() {
                    Some(start) => {
                        self.out.push(')');
                        self.token(start, Token::Atom);
                    }
                    None => {
                        let start = self.out.len();
                        self.out.push_str("\\)");
                        self.token(start, Token::Atom);
                    }
                },
                '|' => {
                    self.out.push('|');
                    self.token(self.out.len(), Token::Barrier);
                }
                '^' | '$' => {
                    self.out.push(c);
                    self.token(self.out.len(), Token::Barrier);
                }
                '*' | '+' | '?' => self.quantifier(&c.to_string()),
                '{' => match self.atom_start.and_then(|_| self.interval()) {
                    Some(q) => self.quantifier(&q),
                    None => self.literal('{'),
                },
                '.' => {
                    let start = self.out.len();
                    self.out.push('.');
                    self.token(start, Token::Atom);
                }
                c => self.literal(c),
            }
        }
        if !self.groups.is_empty() {
            return Err(BadEre("unmatched ( in pattern".into()));
        }
        // awk's `.` matches any character, newline included.
        Ok(format!("(?s:{})", self.out))
    }

    fn token(&mut self, start: usize, kind: Token) {
        self.after_quantifier = false;
        self.atom_start = match kind {
            Token::Atom => Some(start),
            Token::Barrier => None,
        };
    }

    fn literal(&mut self, c: char) {
        let start = self.out.len();
        push_literal(&mut self.out, c);
        self.token(start, Token::Atom);
    }

    fn quantifier(&mut self, q: &str) {
        let Some(start) = self.atom_start else {
            // Nothing to repeat: GNU awk and grep take the operator literally.
            for c in q.chars() {
                self.literal(c);
            }
            return;
        };
        if self.after_quantifier {
            self.out.insert_str(start, "(?:");
            self.out.push(')');
        }
        self.out.push_str(q);
        self.after_quantifier = true;
    }

    /// Parses `{m}`, `{m,}`, `{m,n}` or `{,n}` after a `{`; returns the regex-crate quantifier.
    fn interval(&mut self) -> Option<String> {
        let rest: String = self
            .chars
            .clone()
            .map(|(_, c)| c)
            .take_while(|&c| c != '}')
            .collect();
        // There must be a closing brace after the candidate interval.
        self.chars.clone().nth(rest.chars().count())?;
        let (lo, hi) = match rest.split_once(',') {
            Some((lo, hi)) => (lo, Some(hi)),
            None => (rest.as_str(), None),
        };
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if !digits(lo) || !hi.is_none_or(digits) || (lo.is_empty() && hi.is_none_or(str::is_empty))
        {
            return None;
        }
        let q = match hi {
            None => format!("{{{lo}}}"),
            Some(hi) => format!("{{{},{hi}}}", if lo.is_empty() { "0" } else { lo }),
        };
        for _ in 0..=rest.chars().count() {
            self.chars.next();
        }
        Some(q)
    }

    /// Writes the translation of `\e`; inside a bracket expression only literal forms are allowed.
    fn escape(&mut self, e: char, in_bracket: bool) -> Result<Token, BadEre> {
        let control = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'f' => Some('\x0c'),
            'v' => Some('\x0b'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            _ => None,
        };
        if let Some(c) = control {
            push_literal(&mut self.out, c);
            return Ok(Token::Atom);
        }
        if !in_bracket {
            // gawk's regexp operators.
            let op = match e {
                'w' | 'W' | 's' | 'S' => Some((format!("\\{e}"), Token::Atom)),
                'y' => Some(("\\b".to_string(), Token::Barrier)),
                'B' => Some(("\\B".to_string(), Token::Barrier)),
                '<' => Some(("\\b{start}".to_string(), Token::Barrier)),
                '>' => Some(("\\b{end}".to_string(), Token::Barrier)),
                '`' => Some(("\\A".to_string(), Token::Barrier)),
                '\'' => Some(("\\z".to_string(), Token::Barrier)),
                '1'..='9' => {
                    return Err(BadEre(format!(
                        "back-reference \\{e} is not an extended regular expression"
                    )))
                }
                _ => None,
            };
            if let Some((op, kind)) = op {
                self.out.push_str(&op);
                return Ok(kind);
            }
        }
        push_literal(&mut self.out, e);
        Ok(Token::Atom)
    }

    /// Translates a bracket expression whose `[` is at byte `open` of the source.
    fn bracket(&mut self, open: usize) -> Result<(), BadEre> {
        let unterminated = || BadEre(format!("unmatched [ at offset {open}"));
        self.out.push('[');
        if self.chars.peek().map(|&(_, c)| c) == Some('^') {
            self.chars.next();
            self.out.push('^');
        }
        let mut first = true;
        loop {
            let (pos, c) = self.chars.next().ok_or_else(unterminated)?;
            match c {
                ']' if !first => break,
                '[' if matches!(self.chars.peek(), Some((_, ':' | '=' | '.'))) => {
                    let (_, kind) = self.chars.next().expect("peeked");
                    let body_start = pos + 2;
                    let close = format!("{kind}]");
                    let len = self.src[body_start..]
                        .find(&close)
                        .ok_or_else(unterminated)?;
                    let body = &self.src[body_start..body_start + len];
                    for _ in 0..body.chars().count() + 2 {
                        self.chars.next();
                    }
                    match kind {
                        ':' if CLASSES.contains(&body) => {
                            write!(self.out, "[:{body}:]").expect("string")
                        }
                        ':' => return Err(BadEre(format!("unknown character class [:{body}:]"))),
                        // Collating symbols and equivalence classes of one character are that character.
                        _ => {
                            let mut it = body.chars();
                            match (it.next(), it.next()) {
                                (Some(ch), None) => push_class_literal(&mut self.out, ch),
                                _ => {
                                    return Err(BadEre(format!(
                                        "unsupported collating element [{kind}{body}{kind}]"
                                    )))
                                }
                            }
                        }
                    }
                }
                '\\' => {
                    let (_, e) = self.chars.next().ok_or_else(unterminated)?;
                    let lit = match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'f' => '\x0c',
                        'v' => '\x0b',
                        'a' => '\x07',
                        'b' => '\x08',
                        e => e,
                    };
                    push_class_literal(&mut self.out, lit);
                }
                '-' if !first && self.chars.peek().is_some_and(|&(_, n)| n != ']') => {
                    self.out.push('-')
                }
                c => push_class_literal(&mut self.out, c),
            }
            first = false;
        }
        self.out.push(']');
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Token {
    /// Something a following quantifier applies to.
    Atom,
    /// An anchor, `(` or `|`: a following quantifier has nothing to repeat.
    Barrier,
}

const CLASSES: [&str; 12] = [
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

fn push_literal(out: &mut String, c: char) {
    if regex_syntax::is_meta_character(c) {
        out.push('\\');
    }
    out.push(c);
}

fn push_class_literal(out: &mut String, c: char) {
    // Inside a class the regex crate also gives `[`, `&`, `~` and `-` meanings (nesting, set operations).
    if matches!(c, '\\' | '[' | ']' | '^' | '-' | '&' | '~') {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn matches(ere: &str, text: &str) -> bool {
        let t = translate(ere).unwrap_or_else(|e| panic!("{ere}: {e}"));
        regex::Regex::new(&t)
            .unwrap_or_else(|e| panic!("{ere} -> {t}: {e}"))
            .is_match(text)
    }

    #[test]
    fn ordinary_patterns_mean_what_they_say() {
        assert!(matches(
            r"^barretenberg/cpp/.*\.(cpp|hpp)$",
            "barretenberg/cpp/src/a.cpp"
        ));
        assert!(!matches(
            r"^barretenberg/cpp/.*\.(cpp|hpp)$",
            "x/barretenberg/cpp/src/a.cpp"
        ));
        assert!(matches(r"Cargo\.lock", "noir/Cargo.lock"));
        assert!(!matches(r"Cargo\.lock", "noir/Cargo_lock"));
        assert!(matches(r"^a{2,3}$", "aaa"));
        assert!(!matches(r"^a{2,3}$", "aaaa"));
        assert!(matches(r"^a{,2}b", "b"));
    }

    #[test]
    fn unanchored_by_default() {
        assert!(matches("src/", "yarn-project/src/index.ts"));
    }

    #[test]
    fn posix_quirks_that_the_regex_crate_rejects() {
        assert!(matches("a{", "xa{y"));
        assert!(matches("{x}", "{x}"));
        assert!(matches("*.rs", "main*.rs"));
        assert!(matches("^*a", "*a"));
        assert!(matches("a**", "aaa"));
        assert!(matches("(a|*b)", "*b"));
        assert!(matches("x)", "x)"));
        assert!(matches("[]a]", "]"));
        assert!(matches("[^]a]", "b"));
        assert!(!matches("[^]a]", "]"));
        assert!(matches("[a-]", "-"));
        assert!(matches("[a&&b]", "&"));
        assert!(matches("[[:digit:]]+\\.txt", "file12.txt"));
        assert!(matches("[[.-.]]", "-"));
        assert!(matches(r"[\]]", "]"));
        assert!(matches("a.b", "a\nb"));
    }

    #[test]
    fn escapes_follow_awk() {
        assert!(matches(r"\.", "."));
        assert!(!matches(r"^\.", "a"));
        assert!(matches(r"\/", "/"));
        assert!(matches(r"\yfoo\y", "a foo b"));
        assert!(matches(r"\<foo\>", "a foo b"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert!(translate("(a").is_err());
        assert!(translate("[a").is_err());
        assert!(translate("a\\").is_err());
        assert!(translate("[[:nope:]]").is_err());
        assert!(translate(r"(a)\1").is_err());
    }
}
