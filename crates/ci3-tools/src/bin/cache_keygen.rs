//! `cache_keygen DIR`: a new signing key pair for the cache; the public key line on stdout.

use std::path::PathBuf;

use clap::Parser;

/// Writes a new Ed25519 key pair into DIR (created if missing): the private key in
/// DIR/ci3-signing.key (mode 0600; never replaced) for CI3_SIGNING_KEY, the public key in
/// DIR/ci3-signing.pub. Prints the public key (one line, for CI3_TRUSTED_KEYS) on stdout.
#[derive(Parser)]
#[command(name = "cache_keygen", version, after_help = help())]
struct Args {
    /// Where to write the key files.
    dir: PathBuf,
}

fn help() -> String {
    "Environment:\n  (none)\n\n\
     Exit status:\n  0  written\n  1  the key files cannot be written (an existing key is never replaced)\n  2  usage error"
        .into()
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    ci3_tools::run("cache_keygen", || {
        let made = ci3::trust::keygen(&args.dir)?;
        println!("{}", made.public);
        eprintln!(
            "cache_keygen: key {} written: private {} (CI3_SIGNING_KEY; keep it secret), public {} (CI3_TRUSTED_KEYS)",
            made.id,
            made.secret_file.display(),
            made.public_file.display()
        );
        Ok(0)
    })
}
