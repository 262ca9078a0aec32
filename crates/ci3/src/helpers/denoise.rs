//! `denoise CMD`: with `DENOISE=1`, a dot per output line instead of the output, which is shown
//! only if the command fails. Everything goes to stdout, as the original's did.

use std::io::{self, IsTerminal, Read, Write};
use std::process::Stdio;
use std::time::Instant;

use crate::error::{IoAt, Result, ResultExt};

use super::{styled, GREEN, RED};
use crate::process;

/// Dots per line, and how often a line count is shown.
const BLOCK: u64 = 64;

pub fn run(settings: &crate::settings::Settings, cmd: &str) -> Result<i32> {
    if !settings.helpers.denoise {
        return process::run(process::bash(cmd));
    }
    let dir = tempfile::Builder::new()
        .prefix("denoise-")
        .tempdir()
        .context("cannot create a temp dir for the log")?;
    let log_path = dir.path().join("output.log");
    let mut log = std::fs::File::create(&log_path).at("cannot create", &log_path)?;
    let (mut output, write_end) = process::pipe().context("cannot create a pipe")?;
    let mut child = process::bash(cmd);
    child
        .stdout(Stdio::from(write_end.try_clone()?))
        .stderr(Stdio::from(write_end));

    let start = Instant::now();
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    writeln!(out, "Executing: {cmd}")?;
    out.flush()?;
    let Some(pid) = process::spawn(child, process::Group::Interactive)? else {
        return Ok(process::signal_code());
    };

    let mut dots = Dots { lines: 0, tty };
    let mut buf = vec![0u8; 64 * 1024];
    let mut last = b'\n';
    loop {
        let n = match output.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("reading the command's output"),
        };
        log.write_all(&buf[..n]).context("writing the log")?;
        for _ in buf[..n].iter().filter(|&&b| b == b'\n') {
            dots.line(&mut out)?;
        }
        last = buf[n - 1];
        out.flush()?;
    }
    if last != b'\n' {
        // The last line had no newline; it is a line all the same.
        dots.line(&mut out)?;
    }
    dots.finish(&mut out)?;

    let (_, code) = process::wait(Some(pid))?;
    let secs = start.elapsed().as_secs();
    if code == 0 {
        styled(&mut out, tty, GREEN, format!("done ({secs}s)").as_bytes())?;
        writeln!(out)?;
    } else {
        styled(&mut out, tty, RED, format!("failed ({secs}s)").as_bytes())?;
        writeln!(out)?;
        drop(log);
        let mut log = std::fs::File::open(&log_path)?;
        io::copy(&mut log, &mut out).context("printing the log")?;
    }
    out.flush()?;
    Ok(code)
}

/// On a terminal the dots appear as lines arrive; in a log they come as whole lines of
/// `BLOCK` dots, so a log gets one line per `BLOCK` output lines instead of a line of dots
/// growing forever. Either way each full line ends with the count of output lines so far.
struct Dots {
    lines: u64,
    tty: bool,
}

impl Dots {
    fn line(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.lines += 1;
        if self.tty {
            out.write_all(b".")?;
        }
        if self.lines.is_multiple_of(BLOCK) {
            if !self.tty {
                out.write_all(&[b'.'; BLOCK as usize])?;
            }
            writeln!(out, " {}", self.lines)?;
        }
        Ok(())
    }

    fn finish(&self, out: &mut impl Write) -> io::Result<()> {
        let rest = self.lines % BLOCK;
        if rest > 0 {
            if !self.tty {
                out.write_all(&vec![b'.'; rest as usize])?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}
