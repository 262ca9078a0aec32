//! `cache_stats`: what the cache did on this machine: hits, misses, uploads, time saved.

use std::time::Duration;

use ci3::ledger;
use ci3_tools::Tool;
use clap::Parser;

/// Sums up this machine's cache ledger ($XDG_CACHE_HOME/ci3/ledger.jsonl, written by
/// cache_download and cache_upload): downloads and their hit rate, uploads, the builds timed
/// (a miss, then an upload of the same name), and the build time hits spared, each hit counted
/// at the last timed build of its project (the name before its key) on this machine.
#[derive(Parser)]
#[command(name = "cache_stats", version, after_help = help())]
struct Args {
    /// Only what happened since this date (YYYY-MM-DD[THH:MM[:SS]], UTC).
    #[arg(long, value_name = "DATE", value_parser = ci3::clock::parse_date)]
    since: Option<u64>,
    /// One JSON object instead of lines of text.
    #[arg(long)]
    json: bool,
}

fn help() -> String {
    "Environment:\n  XDG_CACHE_HOME             the ledger is $XDG_CACHE_HOME/ci3/ledger.jsonl\n\n\
     Exit status:\n  0  printed\n  2  usage error"
        .to_string()
}

/// `1h 02m`, `3m 05s`, `4.2s`.
fn human(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_stats");
    let since_ms = args.since.map_or(0, |us| us / 1000);
    let s = ledger::stats(&ledger::read(&tool.settings), since_ms);
    if args.json {
        let mut v = serde_json::to_value(&s).expect("stats serialise");
        v["hit_rate"] = serde_json::json!(s.hit_rate());
        println!("{v}");
        return;
    }
    let rate = s
        .hit_rate()
        .map_or_else(|| "-".to_string(), |r| format!("{r:.1}%"));
    println!(
        "downloads:  {} (hits {}: {} local cache, {} store; misses {}), hit rate {rate}",
        s.hits() + s.misses,
        s.hits(),
        s.hits_local,
        s.hits_store,
        s.misses
    );
    println!(
        "uploads:    {} stored, {} local only, {} failed",
        s.stored, s.local_only, s.upload_failed
    );
    println!("transfers:  {}", human(s.transfer_ms));
    println!("builds:     {} timed, {}", s.builds, human(s.build_ms));
    println!(
        "time saved: ~{} ({} of {} hits have a timed build of their project)",
        human(s.saved_ms),
        s.hits_estimated,
        s.hits()
    );
}
