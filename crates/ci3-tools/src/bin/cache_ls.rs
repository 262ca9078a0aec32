//! `cache_ls NAME`: list the entries of artifact NAME, one path per line (directories end in `/`).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use ci3::archive::EntryKind;
use ci3::cache;
use ci3_tools::{Tool, STORE_ENV};
use clap::Parser;

/// Lists the entries of artifact NAME (gzip and zstd alike), one path per line on stdout;
/// directories end in "/". Reads CACHE_LOCAL_DIR's copy when there is one.
#[derive(Parser)]
#[command(name = "cache_ls", version, after_help = help())]
struct Args {
    /// The artifact name.
    name: String,
}

fn help() -> String {
    format!(
        "Environment:\n  CACHE_LOCAL_DIR              local tarball cache\n{STORE_ENV}\n\n\
         Exit status:\n  0  listed\n  1  not in the cache, an invalid NAME, or any failure\n  \
         2  usage error, or a store configuration that cannot be right"
    )
}

fn main() {
    let args: Args = ci3_tools::parse(2);
    let tool = Tool::new("cache_ls");
    let selected = tool.store();
    ci3_tools::run(tool.name, || {
        let name = &args.name;
        let ctx = tool.context(&selected);
        let Some(entries) = cache::list(&ctx, name)? else {
            tool.say(&format!("cache_ls: {name} is not in the cache."));
            return Ok(1);
        };
        let write = || -> std::io::Result<()> {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for e in entries {
                let path = e.path.as_os_str().as_bytes();
                out.write_all(path)?;
                if e.kind == EntryKind::Dir && !path.ends_with(b"/") {
                    out.write_all(b"/")?;
                }
                out.write_all(b"\n")?;
            }
            out.flush()
        };
        write().map_err(|e| {
            ci3::Error::new(ci3::Kind::Io, format!("cannot write the listing: {e}"))
        })?;
        Ok(0)
    })
}
