//! Which task starts when: a task is ready once every task it depends on succeeded; one whose
//! upstream failed is skipped, and so is everything downstream of it.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use super::Outcome;

struct State {
    /// How many upstream tasks each task still waits for.
    left: Vec<usize>,
    ready: VecDeque<usize>,
    outcomes: Vec<Option<Outcome>>,
    running: usize,
}

/// The tasks' dependencies (indices of the tasks each waits for), handed out to workers.
pub(super) struct Schedule {
    downstream: Vec<Vec<usize>>,
    state: Mutex<State>,
    changed: Condvar,
}

impl Schedule {
    pub(super) fn new(upstream: &[Vec<usize>]) -> Schedule {
        let n = upstream.len();
        let mut downstream = vec![Vec::new(); n];
        for (b, ups) in upstream.iter().enumerate() {
            for &a in ups {
                downstream[a].push(b);
            }
        }
        let left: Vec<usize> = upstream.iter().map(Vec::len).collect();
        Schedule {
            downstream,
            state: Mutex::new(State {
                ready: (0..n).filter(|&i| left[i] == 0).collect(),
                left,
                outcomes: vec![None; n],
                running: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// The next ready task, waiting while others run; `None` once nothing is left to start.
    pub(super) fn next(&self) -> Option<usize> {
        let mut st = self.state.lock().expect("schedule");
        loop {
            if let Some(i) = st.ready.pop_front() {
                st.running += 1;
                return Some(i);
            }
            if st.running == 0 {
                return None;
            }
            st = self.changed.wait(st).expect("schedule");
        }
    }

    /// Records how task `i` ended: its downstream tasks become ready or, when it did not
    /// succeed, are skipped; `skip(task, upstream, failed)` says each skip.
    pub(super) fn done(&self, i: usize, outcome: Outcome, skip: &dyn Fn(usize, usize, bool)) {
        let mut st = self.state.lock().expect("schedule");
        st.running -= 1;
        let ok = matches!(outcome, Outcome::Success { .. });
        let failed = matches!(outcome, Outcome::Failure { .. });
        st.outcomes[i] = Some(outcome);
        if ok {
            for &b in &self.downstream[i] {
                st.left[b] -= 1;
                if st.left[b] == 0 && st.outcomes[b].is_none() {
                    st.ready.push_back(b);
                }
            }
        } else {
            let mut stack = self.downstream[i].clone();
            while let Some(b) = stack.pop() {
                if st.outcomes[b].is_none() {
                    st.outcomes[b] = Some(Outcome::Skipped);
                    skip(b, i, failed);
                    stack.extend(&self.downstream[b]);
                }
            }
        }
        self.changed.notify_all();
    }

    /// Each task's outcome; one never reached (the run stopped) is `Skipped`.
    pub(super) fn outcomes(self) -> Vec<Outcome> {
        let st = self.state.into_inner().expect("schedule");
        st.outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::Skipped))
            .collect()
    }
}
