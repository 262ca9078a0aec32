//! The one retry loop every backend uses: bounded attempts with backoff for transient failures.

use std::time::{Duration, Instant};

/// Tries per request for transient failures (connection, timeout, 5xx, 429).
pub(crate) const ATTEMPTS: u32 = 3;

/// The pause before attempt `attempt + 1`: 150 ms, then 600 ms.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(150 * 4u64.pow(attempt - 1))
}

/// What one attempt came to.
pub(crate) enum Attempt<T, E> {
    Done(Result<T, E>),
    /// Failed for a reason that may pass; `cause` names it for the retry notice.
    Transient(E, String),
}

/// Runs `op` until it is done or out of attempts, sleeping between tries. When the attempts so
/// far took more than a second, `notice` is told that a retry is coming and why, so a person
/// waiting on a slow server knows what is happening.
pub(crate) fn retry<T, E>(
    notice: &dyn Fn(&str),
    mut op: impl FnMut() -> Attempt<T, E>,
) -> Result<T, E> {
    let start = Instant::now();
    let mut attempt = 1;
    loop {
        match op() {
            Attempt::Done(result) => return result,
            Attempt::Transient(err, _) if attempt >= ATTEMPTS => return Err(err),
            Attempt::Transient(_, cause) => {
                let wait = backoff(attempt);
                if start.elapsed() + wait > Duration::from_secs(1) {
                    notice(&format!(
                        "{cause}; retrying in {:.1}s (attempt {} of {ATTEMPTS})",
                        wait.as_secs_f64(),
                        attempt + 1
                    ));
                }
                std::thread::sleep(wait);
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn retries_transient_failures_then_gives_up() {
        let calls = RefCell::new(0);
        let r: Result<(), &str> = retry(&|_| {}, || {
            *calls.borrow_mut() += 1;
            Attempt::Transient("down", "connection refused".into())
        });
        assert_eq!(r, Err("down"));
        assert_eq!(*calls.borrow(), ATTEMPTS);
    }

    #[test]
    fn stops_at_the_first_final_answer() {
        let calls = RefCell::new(0);
        let r: Result<u32, &str> = retry(&|_| {}, || {
            *calls.borrow_mut() += 1;
            if *calls.borrow() == 1 {
                Attempt::Transient("flaky", "timed out".into())
            } else {
                Attempt::Done(Ok(7))
            }
        });
        assert_eq!(r, Ok(7));
        assert_eq!(*calls.borrow(), 2);
    }

    #[test]
    fn says_it_is_retrying_only_after_a_second() {
        let said = RefCell::new(Vec::new());
        let slow = || {
            std::thread::sleep(Duration::from_millis(600));
            Attempt::<(), _>::Transient("x", "timed out".into())
        };
        let _ = retry(&|m| said.borrow_mut().push(m.to_string()), slow);
        assert!(
            said.borrow()
                .iter()
                .any(|m| m.contains("timed out; retrying")),
            "{:?}",
            said.borrow()
        );
        let quiet = RefCell::new(Vec::new());
        let _ = retry(&|m| quiet.borrow_mut().push(m.to_string()), || {
            Attempt::<(), _>::Transient("x", "refused".into())
        });
        assert!(quiet.borrow().is_empty());
    }
}
