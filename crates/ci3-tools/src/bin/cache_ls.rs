//! `cache_ls NAME`: list the entries of artifact NAME, one path per line (directories end in `/`).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use ci3::archive::{self, Compression, EntryKind};

fn main() {
    let args = ci3::cli::args_or_usage("cache_ls", 1, "NAME");
    ci3::cli::run("cache_ls", || {
        let name = &args[0];
        let Some(file) = ci3::cache::fetch(name)? else {
            eprintln!("cache_ls: {name} is not in the cache.");
            return Ok(1);
        };
        let entries = archive::list(
            std::io::BufReader::new(file.reopen()?),
            Compression::for_name(name),
        )?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for e in entries {
            out.write_all(e.path.as_os_str().as_bytes())?;
            if e.kind == EntryKind::Dir && !e.path.as_os_str().as_bytes().ends_with(b"/") {
                out.write_all(b"/")?;
            }
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(0)
    })
}
