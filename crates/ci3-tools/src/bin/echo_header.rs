//! `echo_header TEXT...`: print `--- TEXT ---`, highlighted on a terminal. Every argument is data.

use std::os::unix::ffi::OsStringExt;

fn main() {
    ci3_tools::run("echo_header", || {
        let words: Vec<Vec<u8>> = std::env::args_os()
            .skip(1)
            .map(OsStringExt::into_vec)
            .collect();
        ci3::helpers::echo_header::run(&words)
    })
}
