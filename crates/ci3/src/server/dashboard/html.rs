//! The one escaping function every value on a page goes through, the page frame (inline style,
//! navigation) and the small formatters pages share.

use std::fmt::Write;

/// `text` safe inside an element or a double-quoted attribute: every character that could end
/// either, or start markup or an entity, is an entity.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment for a link: percent-encoded beyond the names' own charset, then escaped.
pub fn url(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'/' | b':' | b'@' | b'=' => {
                out.push(b as char)
            }
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    esc(&out)
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\
nav{background:#223;padding:8px 16px}nav a{color:#dde;margin-right:16px;text-decoration:none}\
main{padding:12px 16px}table{border-collapse:collapse;margin:8px 0}\
td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
th{background:#eee}pre.log{background:#111;color:#ddd;padding:10px;white-space:pre-wrap;\
word-break:break-all;font:12px monospace}.ok{color:#1a7f37}.bad{color:#c62828}\
.flake{color:#8e24aa}.run{color:#1565c0}h2{margin:18px 0 6px;font-size:16px}\
.muted{color:#777}.num{text-align:right}";

/// A whole page: `title` escaped here, `body` already markup.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{} · ci3</title>\
         <style>{STYLE}</style></head><body><nav><a href=\"/\">Runs</a>\
         <a href=\"/_/tests\">Tests</a><a href=\"/_/tasks\">Tasks</a>\
         <a href=\"/_/cache\">Cache</a></nav><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        esc(title)
    )
}

/// A duration in seconds as people read it: `850ms`, `42s`, `3m05s`, `2h10m`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{}s", ms / 1000),
        60_000..=3_599_999 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// How long ago `then` was, both Unix seconds.
pub fn age(now: u64, then: u64) -> String {
    match now.saturating_sub(then) {
        s @ 0..=59 => format!("{s}s ago"),
        s @ 60..=3599 => format!("{}m ago", s / 60),
        s @ 3600..=86_399 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// The CSS class of a status word.
pub fn status_class(status: &str) -> &'static str {
    match status.to_ascii_uppercase().as_str() {
        "PASSED" | "SUCCESS" | "EXIST" | "OK" => "ok",
        "FAILED" | "FAILURE" | "ERROR" => "bad",
        "FLAKED" => "flake",
        "RUNNING" | "PENDING" => "run",
        _ => "muted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(url("a b/<c>"), "a%20b/%3Cc%3E");
        assert_eq!(duration_ms(185_000), "3m05s");
        assert_eq!(age(100, 40), "1m ago");
    }
}
