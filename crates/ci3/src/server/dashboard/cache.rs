//! `/_/cache`: per day, the hit rate, the bytes moved and the build time the cache saved, from
//! the ledger lines every tool puts into a shared store (`ledger`).

use std::fmt::Write;

use super::html::{duration_ms, esc, page};
use super::{listing, Ctx};
use crate::ledger::{self, Entry};

/// Days shown, newest first.
const DAYS: usize = 14;
/// Lines read per day at most.
const PER_DAY: usize = 20_000;

fn bytes(n: u64) -> String {
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KiB", n as f64 / 1024.0),
        1_048_576..=1_073_741_823 => format!("{:.1} MiB", n as f64 / 1_048_576.0),
        _ => format!("{:.2} GiB", n as f64 / 1_073_741_824.0),
    }
}

fn day_lines(ctx: &Ctx, day: &str) -> crate::Result<Vec<Entry>> {
    let prefix = format!("{}{day}/", ledger::STORE_PREFIX);
    let names = ctx.store.list_sorted(&prefix, None, PER_DAY)?;
    let read = crate::server::reads::many(&names, |name| {
        let mut buf = Vec::new();
        ctx.store.get(name, &mut buf)?;
        Ok(serde_json::from_slice::<Entry>(&buf).ok())
    })?;
    Ok(read.into_iter().flatten().collect())
}

/// `/_/cache`
pub fn page_html(ctx: &Ctx) -> crate::Result<String> {
    let mut days = listing::children(ctx, ledger::STORE_PREFIX)?;
    days.sort();
    days.reverse();
    days.truncate(DAYS);
    // Oldest first, as `ledger::stats` reads them: a build timed one day prices the next
    // day's hits.
    let mut all: Vec<Entry> = Vec::new();
    for day in days.iter().rev() {
        all.extend(day_lines(ctx, day)?);
    }
    all.sort_by_key(|e| e.t_ms);
    let mut body = String::from(
        "<table class=\"cache\"><tr><th>Day</th><th>Downloads</th><th>Hit rate</th>\
         <th>Uploads</th><th>Bytes moved</th><th>Build time saved</th></tr>",
    );
    for day in &days {
        let start = day_start_ms(day);
        let end = start + 86_400_000;
        let upto: Vec<Entry> = all.iter().filter(|e| e.t_ms < end).cloned().collect();
        let s = ledger::stats(&upto, start);
        let moved: u64 = upto
            .iter()
            .filter(|e| e.t_ms >= start)
            .filter_map(|e| e.bytes)
            .sum();
        let rate = s
            .hit_rate()
            .map(|r| format!("{r:.0}%"))
            .unwrap_or_else(|| "–".into());
        let _ = write!(
            body,
            "<tr class=\"day\"><td>{}</td><td class=\"num\">{}</td><td class=\"num rate\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num saved\">{}</td></tr>",
            esc(day),
            s.hits() + s.misses,
            esc(&rate),
            s.stored + s.local_only + s.upload_failed,
            esc(&bytes(moved)),
            esc(&duration_ms(s.saved_ms)),
        );
    }
    body.push_str("</table>");
    if days.is_empty() {
        body.push_str(
            "<p class=\"muted\">No ledger lines in this store yet: tools put theirs here when \
             the store is shared.</p>",
        );
    }
    Ok(page("Cache", &body))
}

/// `YYYY-MM-DD` as Unix milliseconds at its start (0 for anything else).
fn day_start_ms(day: &str) -> u64 {
    let n = |r: std::ops::Range<usize>| day.get(r).and_then(|s| s.parse::<u64>().ok());
    match (n(0..4), n(5..7), n(8..10)) {
        (Some(y), Some(m), Some(d)) => crate::clock::days_from_civil(y, m, d) * 86_400_000,
        _ => 0,
    }
}

#[cfg(test)]
mod unit {
    #[test]
    fn days_and_sizes() {
        assert_eq!(super::day_start_ms("1970-01-02"), 86_400_000);
        assert_eq!(super::bytes(3 << 20), "3.0 MiB");
    }
}
