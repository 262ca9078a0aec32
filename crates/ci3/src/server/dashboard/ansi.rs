//! A log's text as HTML: SGR colour sequences become spans, every other escape sequence and
//! control character is dropped, and all text goes through the one escaping function.

use super::html::esc;

/// The 16 colours of SGR 30–37 and 90–97.
const COLOURS: [&str; 16] = [
    "#555", "#e53935", "#43a047", "#fdd835", "#1e88e5", "#ab47bc", "#00acc1", "#ddd", "#888",
    "#ff6e6e", "#69f0ae", "#ffff8d", "#82b1ff", "#ea80fc", "#84ffff", "#fff",
];

#[derive(Default, Clone, PartialEq)]
struct Style {
    fg: Option<usize>,
    bold: bool,
}

impl Style {
    fn apply(&mut self, params: &str) {
        let codes: Vec<u32> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let mut i = 0;
        while i < codes.len() {
            match codes[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                22 => self.bold = false,
                39 => self.fg = None,
                c @ 30..=37 => self.fg = Some((c - 30) as usize),
                c @ 90..=97 => self.fg = Some((c - 90 + 8) as usize),
                // 256-colour and true-colour forms: their arguments are skipped, not read as codes.
                38 => i += if codes.get(i + 1) == Some(&5) { 2 } else { 4 },
                _ => {}
            }
            i += 1;
        }
    }

    fn open(&self) -> Option<String> {
        if *self == Style::default() {
            return None;
        }
        let mut css = String::new();
        if let Some(c) = self.fg {
            css.push_str("color:");
            css.push_str(COLOURS[c]);
            css.push(';');
        }
        if self.bold {
            css.push_str("font-weight:bold;");
        }
        Some(format!("<span style=\"{css}\">"))
    }
}

/// `text` (a log) as the inside of a `<pre>`.
pub fn to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut style = Style::default();
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    let flush = |out: &mut String, plain: &mut String, style: &Style| {
        if plain.is_empty() {
            return;
        }
        match style.open() {
            Some(open) => {
                out.push_str(&open);
                out.push_str(&esc(plain));
                out.push_str("</span>");
            }
            None => out.push_str(&esc(plain)),
        }
        plain.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                flush(&mut out, &mut plain, &style);
                if chars.peek() == Some(&']') {
                    // A title or hyperlink (OSC): up to its BEL or ESC, nothing of it shown.
                    while let Some(p) = chars.next() {
                        if p == '\x07' {
                            break;
                        }
                        if p == '\x1b' {
                            chars.next_if_eq(&'\\');
                            break;
                        }
                    }
                    continue;
                }
                if chars.peek() != Some(&'[') {
                    // A charset pick or the like: its one character goes too.
                    chars.next();
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut last = None;
                for p in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&p) {
                        last = Some(p);
                        break;
                    }
                    params.push(p);
                }
                if last == Some('m') {
                    style.apply(&params);
                }
            }
            '\n' | '\t' => plain.push(c),
            c if c.is_control() => {}
            c => plain.push(c),
        }
    }
    flush(&mut out, &mut plain, &style);
    out
}

/// The same text without any escape sequence: what lines are matched and shown as in tables.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            match chars.next() {
                Some('[') => {
                    for p in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&p) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(p) = chars.next() {
                        if p == '\x07' || (p == '\x1b' && chars.next().is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        if !c.is_control() || c == '\t' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_spans_and_markup_stays_text() {
        let html = to_html("\x1b[32mPASSED\x1b[0m <script>x</script>\x1b]0;t\x07\n");
        assert_eq!(
            html,
            "<span style=\"color:#43a047;\">PASSED</span> &lt;script&gt;x&lt;/script&gt;\n"
        );
        let link = to_html("\x1b]8;;http://x/1\x1b\\(log)\x1b]8;;\x1b\\ ok");
        assert_eq!(link, "(log) ok");
        assert_eq!(strip("\x1b[31mFAILED\x1b[0m: a"), "FAILED: a");
    }
}
