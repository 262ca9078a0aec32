//! Values as baur prints them, where scripts parse them: Go's `time.Duration` and time layouts,
//! and Go's `encoding/json` list of rows.

use std::collections::BTreeMap;

/// baur's `term.FormatDuration` (internal/command/term/format.go) of `us` microseconds: Go's
/// `Duration.String()` of the duration truncated to the second from a minute, to the millisecond
/// from a second, else to the microsecond: `1m2s`, `2.345s`, `350ms`, `1h0m0s`.
pub fn duration(us: u64) -> String {
    let us = if us >= 60_000_000 {
        us - us % 1_000_000
    } else if us >= 1_000_000 {
        us - us % 1_000
    } else {
        us
    };
    go_duration(us.saturating_mul(1_000))
}

/// Go's `time.Duration.String()` of `ns` nanoseconds.
pub fn go_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        let (digits, unit) = if ns < 1_000 {
            (0, "ns")
        } else if ns < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (whole, frac) = fraction(ns, digits);
        return format!("{whole}{frac}{unit}");
    }
    let (secs, frac) = fraction(ns, 9);
    let (mins, hours) = (secs / 60, secs / 3600);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if mins > 0 {
        out.push_str(&format!("{}m", mins % 60));
    }
    out.push_str(&format!("{}{frac}s", secs % 60));
    out
}

/// `v` / 10^`digits` and its fraction as Go writes it: `.5` (trailing zeros dropped), or nothing.
fn fraction(v: u64, digits: u32) -> (u64, String) {
    let p = 10u64.pow(digits);
    match v % p {
        0 => (v / p, String::new()),
        f => {
            let f = format!("{f:0width$}", width = digits as usize);
            (v / p, format!(".{}", f.trim_end_matches('0')))
        }
    }
}

/// A time (Unix microseconds) in baur's `flag.DateTimeFormatTz` layout,
/// `2006.01.02-15:04:05-MST`, in UTC (where the original showed the machine's zone).
pub fn time(us: u64) -> String {
    let c = ci3::clock::utc_compact(us / 1_000_000);
    format!(
        "{}.{}.{}-{}:{}:{}-UTC",
        &c[0..4],
        &c[4..6],
        &c[6..8],
        &c[9..11],
        &c[11..13],
        &c[13..15]
    )
}

/// Rows as baur's JSON formatter writes them (internal/format/json): Go's `encoding/json` of a
/// list of maps from `keys` to the row's strings, indented by two spaces, keys sorted, `null`
/// for no row, and `<`, `>`, `&`, U+2028 and U+2029 escaped as Go escapes them.
pub fn json(keys: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "null\n".into();
    }
    let list: Vec<BTreeMap<&str, &str>> = rows
        .iter()
        .map(|r| {
            keys.iter()
                .copied()
                .zip(r.iter().map(String::as_str))
                .collect()
        })
        .collect();
    let text = serde_json::to_string_pretty(&list).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go_prints_them() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (350_000_000, "350ms"),
            (1_234_567, "1.234567ms"),
            (1_000_000_000, "1s"),
            (62_500_000_000, "1m2.5s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_000_000_000, "1h2m3s"),
            (90_061_001_000_000, "25h1m1.001s"),
        ];
        for (ns, want) in cases {
            assert_eq!(go_duration(*ns), *want, "{ns} ns");
        }
        // Truncated as baur's term.FormatDuration truncates.
        assert_eq!(duration(1_234), "1.234ms");
        assert_eq!(duration(2_345_678), "2.345s");
        assert_eq!(duration(62_999_999), "1m2s");
        assert_eq!(duration(3_600_400_000), "1h0m0s");
    }

    #[test]
    fn times_and_json_as_baur_prints_them() {
        assert_eq!(time(1_700_000_000_123_456), "2023.11.14-22:13:20-UTC");
        let rows = vec![vec!["b<&>".to_string(), "".to_string()]];
        assert_eq!(
            json(&["Path", "Name"], &rows),
            "[\n  {\n    \"Name\": \"\",\n    \"Path\": \"b\\u003c\\u0026\\u003e\"\n  }\n]\n"
        );
        assert_eq!(json(&["Name"], &[]), "null\n");
    }
}
