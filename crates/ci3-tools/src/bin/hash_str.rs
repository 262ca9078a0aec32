//! `hash_str ARGS...`: 16 hex chars of the git blob id of the joined arguments (or the sentinel).
//! Every argument is data, as in the original.

use std::os::unix::ffi::OsStringExt;

fn main() {
    ci3_tools::run("hash_str", || {
        let args: Vec<Vec<u8>> = std::env::args_os()
            .skip(1)
            .map(OsStringExt::into_vec)
            .collect();
        // The original ends its hash with `tr -d '\n'`, but not the sentinel.
        match ci3::hash::hash_str(&args) {
            key if key == ci3::hash::SENTINEL => println!("{key}"),
            key => print!("{key}"),
        }
        Ok(0)
    })
}
