//! How a notification's supervisor and tracee wake each other: on the tracee's CPU while one
//! process at a time makes the calls, the usual way while processes side by side do.
//!
//! Synchronous wake-ups hand the caller's CPU to the supervisor and back (7 us a call where a
//! wake-up of another, halted vCPU costs 70 us). But with two compilers calling at once, the
//! supervisor answers the second on the first's CPU and wakes it there: both pile onto one CPU
//! while the other idles. A 200-file `make -j2` took 1.9x its untraced time with them and 1.5x
//! without; a git script (one process at a time) 1.2x with them and 1.45x without.
//!
//! Processes side by side show as calls that overlap (one arrives while another is answered)
//! or as callers that alternate (A, B, A: piled onto one CPU they cannot overlap). A parallel
//! build shows one every 40 us; a script a short burst now and then (one process's threads,
//! three within 0.4 ms; a parent resuming after its child), which must not count.

use std::time::{Duration, Instant};

/// This many signs within `BURST_WITHIN` are processes side by side.
const BURST: u32 = 8;
const BURST_WITHIN: Duration = Duration::from_millis(2);
/// How long the last such burst keeps the usual wake-ups.
const HOLD: Duration = Duration::from_millis(50);

/// Whether wake-ups are synchronous now, the recent callers and signs of processes side by side,
/// and until when calls are taken to come from such.
pub(super) struct WakeMode {
    /// The caller of the last call, and the last other caller before it.
    last: i32,
    before: i32,
    burst_from: Option<Instant>,
    signs: u32,
    parallel_until: Option<Instant>,
    sync: bool,
}

impl WakeMode {
    /// Synchronous, as the listener starts.
    pub fn new() -> Self {
        WakeMode {
            last: 0,
            before: 0,
            burst_from: None,
            signs: 0,
            parallel_until: None,
            sync: true,
        }
    }

    /// Whether wake-ups are synchronous now.
    pub fn sync(&self) -> bool {
        self.sync
    }

    /// Notes a call of thread `pid` received at `now` while `waiting` calls (this one among
    /// them) are being answered; `Some(sync)` when the wake-ups are to change.
    pub fn call(&mut self, pid: i32, waiting: usize, now: Instant) -> Option<bool> {
        let alternating = pid != self.last && pid == self.before;
        if pid != self.last {
            (self.before, self.last) = (self.last, pid);
        }
        if waiting > 1 || alternating {
            match self.burst_from {
                Some(from) if now.duration_since(from) <= BURST_WITHIN => self.signs += 1,
                _ => (self.burst_from, self.signs) = (Some(now), 1),
            }
            if self.signs >= BURST {
                self.parallel_until = Some(now + HOLD);
            }
        }
        let sync = self.parallel_until.is_none_or(|until| now > until);
        (sync != self.sync).then(|| {
            self.sync = sync;
            sync
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_micros(n)
    }

    #[test]
    fn one_process_after_another_stays_synchronous() {
        let t0 = Instant::now();
        let mut mode = WakeMode::new();
        // A script: the shell (1) runs a command (2), resumes, runs the next (3), resumes.
        let calls = [
            (1, 0),
            (2, 100),
            (2, 200),
            (1, 300),
            (3, 400),
            (3, 500),
            (1, 600),
        ];
        for (pid, at) in calls {
            assert_eq!(
                mode.call(pid, 1, us(t0, at)),
                None,
                "call of {pid} at {at} us"
            );
        }
    }

    #[test]
    fn a_short_burst_of_overlaps_stays_synchronous() {
        let t0 = Instant::now();
        let mut mode = WakeMode::new();
        // One process's threads: three overlaps within 0.4 ms, twice.
        for at in [0, 50, 400, 60_000, 60_050, 60_400] {
            assert_eq!(mode.call(7, 2, us(t0, at)), None);
        }
    }

    #[test]
    fn overlaps_in_a_row_wake_the_usual_way_until_they_stop() {
        let t0 = Instant::now();
        let mut mode = WakeMode::new();
        for n in 0..BURST - 1 {
            assert_eq!(mode.call(7, 2, us(t0, u64::from(n) * 40)), None);
        }
        assert_eq!(mode.call(7, 2, us(t0, 300)), Some(false));
        assert_eq!(mode.call(7, 1, us(t0, 30_000)), None);
        // No sign since 0.3 ms: synchronous again once the hold has passed.
        assert_eq!(mode.call(7, 1, us(t0, 50_000)), None);
        assert_eq!(mode.call(7, 1, us(t0, 50_400)), Some(true));
    }

    #[test]
    fn callers_alternating_on_one_cpu_are_side_by_side() {
        let t0 = Instant::now();
        let mut mode = WakeMode::new();
        let mut changes = Vec::new();
        for n in 0..12u64 {
            let pid = if n % 2 == 0 { 1 } else { 2 };
            changes.extend(mode.call(pid, 1, us(t0, n * 40)));
        }
        assert_eq!(changes, [false]);
    }
}
