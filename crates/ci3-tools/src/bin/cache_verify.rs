//! `cache_verify NAME`: whether object NAME is in the store, signed, by which key, and trusted.

use ci3::trust::Signed;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Says whether object NAME (an artifact such as app-H.zst, or a flag such as tests-H.flag) is in
/// the store, whether it is signed, by which key (its id), and whether that key is one of
/// CI3_TRUSTED_KEYS. An artifact is read whole: its digest must match. One line on stdout.
#[derive(Parser)]
#[command(name = "cache_verify", version, after_help = help())]
struct Args {
    /// The object name, e.g. app-0123456789abcdef.zst or tests-0123456789abcdef.flag.
    name: String,
}

fn help() -> String {
    format!(
        "Environment:\n{STORE_ENV}\n\n\
         Exit status:\n  0  present and signed by a trusted key\n  \
         1  absent, unsigned, signed by another key, a signature that does not verify, no CI3_TRUSTED_KEYS, an invalid NAME, or any failure\n  \
         2  usage error, or a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_verify");
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        let ctx = tool.context(&selected);
        let line = match ci3::cache::verify(&ctx, name)? {
            None => format!("{name}: not present in {}", selected.store.describe()),
            Some(Signed::Unsigned) => format!("{name}: present, unsigned: untrusted"),
            Some(Signed::By { key, time, valid }) => {
                let verdict = match valid {
                    Some(true) => "trusted key: trusted",
                    Some(false) => "trusted key, but the signature does not verify: untrusted",
                    None if selected.trust.checks() => "key not in CI3_TRUSTED_KEYS: untrusted",
                    None => "no CI3_TRUSTED_KEYS to check it with: untrusted",
                };
                format!("{name}: present, signed by {key} at {time} (unix time), {verdict}")
            }
        };
        println!("{}", ci3_tools::one_line(&line));
        Ok(if line.ends_with(": trusted") { 0 } else { 1 })
    })
}
