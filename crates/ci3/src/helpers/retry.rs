//! `retry CMD`: up to 3 attempts, `RETRY_SLEEP` seconds apart (default 5); one with
//! `RETRY_DISABLED` set.

use std::time::Duration;

use crate::error::Result;

use crate::process;

const ATTEMPTS: u32 = 3;

pub fn run(settings: &crate::settings::Settings, cmd: &str) -> Result<i32> {
    // A caller that retries at a higher level (or a test of a failure) wants the first status.
    if settings.helpers.retry_disabled {
        return process::run(process::bash(cmd));
    }
    let pause = pause(settings.helpers.retry_sleep.as_deref())?;
    for attempt in 1..=ATTEMPTS {
        let code = process::run(process::bash(cmd))?;
        if code == 0 {
            return Ok(0);
        }
        // Someone asked retry itself to stop: no more attempts, and the child's status is ours.
        // A child killed by SIGINT counts too: Ctrl-C reaches the terminal's whole foreground
        // group at once, and the child's death can be seen before retry's own signal thread has
        // noted the signal (under load, long enough for a next attempt to start). The original,
        // a bash loop in that same group, died with its child.
        if process::interrupted().is_some() || code == 128 + libc::SIGINT {
            return Ok(code);
        }
        if attempt < ATTEMPTS && !process::sleep(pause) {
            return Ok(process::signal_code());
        }
    }
    eprintln!("Failed after {ATTEMPTS} attempts: {cmd}");
    Ok(1)
}

fn pause(value: Option<&str>) -> Result<Duration> {
    let Some(value) = value else {
        return Ok(Duration::from_secs(5));
    };
    value
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| crate::err!(Usage, "RETRY_SLEEP={value}: not a number of seconds"))
}
