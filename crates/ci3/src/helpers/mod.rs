//! The shell helpers real ci3 scripts call around their commands; like the originals, they
//! write to the terminal themselves.
//!
//! Each that runs a command runs `bash -c CMD` children through [`crate::process`], which forwards
//! signals to them and reports a child killed by a signal as 128+signal, never as success.

pub mod denoise;
pub mod dump_fail;
pub mod echo_header;
pub mod filter_test_cmds;
pub mod parallelize;
pub mod rebuild_needed;
pub mod retry;
pub mod run_test;
pub mod semver;
pub mod test_line;
pub mod test_patterns;
pub mod test_record;

use std::io::{self, Write};

const BOLD_BLUE: &str = "\x1b[1;34m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Writes `text` in an ANSI `style` when `tty`: colour is for people, not for logs.
fn styled(out: &mut impl Write, tty: bool, style: &str, text: &[u8]) -> io::Result<()> {
    if tty {
        out.write_all(style.as_bytes())?;
    }
    out.write_all(text)?;
    if tty {
        out.write_all(RESET.as_bytes())?;
    }
    Ok(())
}
