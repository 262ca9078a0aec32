//! The wall clock as Unix time, and the UTC calendar the tools read and print dates in.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Result;

/// Seconds since the epoch (0 for a clock set before it).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Microseconds since the epoch.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Days since the epoch of a civil date (proleptic Gregorian), the inverse of [`civil`].
pub fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = y as i64 - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468).max(0) as u64
}

/// A date as given on a command line: `YYYY-MM-DD`, optionally with `THH:MM[:SS]` or
/// ` HH:MM[:SS]`, or the original baur's `YYYY.MM.DD-HH:MM`; UTC. Unix time in microseconds.
pub fn parse_date(s: &str) -> Result<u64> {
    let bad = || {
        crate::err!(
            Usage,
            "{s}: not a date (YYYY-MM-DD[THH:MM[:SS]] or YYYY.MM.DD-HH:MM, UTC)"
        )
    };
    // The original's form is `YYYY.MM.DD-HH:MM`: its `-` separates date and time.
    let dotted = s.contains('.');
    let (date, time) = match s.split_once(if dotted { &['-'][..] } else { &['T', ' '][..] }) {
        Some((d, t)) => (d, t.trim_end_matches('Z')),
        None => (s, ""),
    };
    let num = |p: &str| p.parse::<u64>().map_err(|_| bad());
    let d: Vec<&str> = date.split(if dotted { '.' } else { '-' }).collect();
    let [y, mo, dd] = d.as_slice() else {
        return Err(bad());
    };
    let (y, mo, dd) = (num(y)?, num(mo)?, num(dd)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&dd) {
        return Err(bad());
    }
    let mut secs = 0;
    if !time.is_empty() {
        let t: Vec<&str> = time.split(':').collect();
        if t.len() < 2 || t.len() > 3 {
            return Err(bad());
        }
        secs = num(t[0])? * 3600 + num(t[1])? * 60 + t.get(2).map_or(Ok(0), |x| num(x))?;
    }
    Ok(days_from_civil(y, mo, dd) * 86_400_000_000 + secs * 1_000_000)
}

/// `YYYYMMDDTHHMMSS` of a Unix time, UTC.
pub fn utc_compact(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}")
}

/// RFC 3339 of a time in microseconds, UTC, to the second.
pub fn rfc3339(us: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(us / 1_000_000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Calendar date and time of a Unix time (days to civil date, proleptic Gregorian).
fn civil(secs: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y as u64,
        m as u64,
        d as u64,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}
