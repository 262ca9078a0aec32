//! `echo_header TEXT...`: `--- TEXT ---`, bold and blue on a terminal.

use std::io::{self, IsTerminal, Write};

use crate::error::Result;

use super::{styled, BOLD_BLUE};

/// `words` are the arguments as bytes (any bytes a shell can pass), joined by spaces.
pub fn run(words: &[Vec<u8>]) -> Result<i32> {
    let mut text = b"--- ".to_vec();
    text.extend(words.join(&b' '));
    text.extend(b" ---");
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    styled(&mut out, tty, BOLD_BLUE, &text)?;
    writeln!(out)?;
    out.flush()?;
    Ok(0)
}
