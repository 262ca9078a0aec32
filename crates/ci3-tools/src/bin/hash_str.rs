//! `hash_str ARGS...`: 16 hex chars of the git blob id of the joined arguments (or the sentinel).

use std::os::unix::ffi::OsStringExt;

fn main() {
    ci3::cli::run("hash_str", || {
        let args: Vec<Vec<u8>> = std::env::args_os()
            .skip(1)
            .map(OsStringExt::into_vec)
            .collect();
        println!("{}", ci3::hash::hash_str(&args));
        Ok(0)
    })
}
