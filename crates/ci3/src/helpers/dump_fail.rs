//! `dump_fail CMD`: the command's stdout on success; on failure, nothing on stdout and both
//! captured streams on stderr after a line saying what failed.

use std::io::{self, Seek, Write};

use crate::error::{Result, ResultExt};

use crate::process;

pub fn run(cmd: &str) -> Result<i32> {
    let capture = || tempfile::tempfile().context("cannot create a temp file for the output");
    let (mut stdout, mut stderr) = (capture()?, capture()?);
    let mut child = process::bash(cmd);
    child
        .stdout(stdout.try_clone()?)
        .stderr(stderr.try_clone()?);
    let code = process::run(child)?;
    stdout.rewind()?;
    stderr.rewind()?;
    if code == 0 {
        let mut out = io::stdout().lock();
        io::copy(&mut stdout, &mut out)?;
        out.flush()?;
    } else {
        let mut err = io::stderr().lock();
        writeln!(err, "command failed: {cmd} (exit: {code})")?;
        io::copy(&mut stdout, &mut err)?;
        io::copy(&mut stderr, &mut err)?;
    }
    Ok(code)
}
