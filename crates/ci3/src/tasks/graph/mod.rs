//! The task graph, inferred from the configuration alone: B depends on A when one of B's file
//! inputs matches a path one of A's `File` outputs writes, or when B's `TaskInfos` names A.
//!
//! baur's files stay as they are (baur itself still reads them); a cycle is a `Config` error
//! naming its tasks, found before anything runs.

mod edges;
mod recorded;
pub mod render;
pub mod status;

use std::collections::HashMap;

use super::config::{Repo, TaskRef};
use crate::Result;

/// Every task of a repository with the tasks each depends on.
pub struct Graph<'a> {
    /// Sorted by task id.
    pub tasks: Vec<TaskRef<'a>>,
    /// For each task, the indices of the tasks it depends on (sorted, no duplicates).
    pub upstream: Vec<Vec<usize>>,
    /// For each task, the indices of the tasks that depend on it.
    pub downstream: Vec<Vec<usize>>,
    /// Every path a `File` output writes, relative to the root: an input matching one of them
    /// is not an error while absent.
    pub produced: Vec<String>,
    index: HashMap<String, usize>,
}

impl<'a> Graph<'a> {
    /// The graph of every task of `repo`; a cycle is a `Config` error naming its tasks.
    pub fn build(repo: &'a Repo) -> Result<Graph<'a>> {
        let mut tasks: Vec<TaskRef<'a>> = repo
            .apps
            .iter()
            .flat_map(|app| app.tasks.iter().map(move |task| TaskRef { app, task }))
            .collect();
        tasks.sort_by_key(|t| t.id());
        let index: HashMap<String, usize> =
            tasks.iter().enumerate().map(|(i, t)| (t.id(), i)).collect();
        let (upstream, produced) = edges::infer(&tasks, &index)?;
        let mut downstream = vec![Vec::new(); tasks.len()];
        for (b, ups) in upstream.iter().enumerate() {
            for &a in ups {
                downstream[a].push(b);
            }
        }
        let g = Graph {
            tasks,
            upstream,
            downstream,
            produced,
            index,
        };
        if let Some(cycle) = g.cycle() {
            let names: Vec<String> = cycle.iter().map(|&i| g.tasks[i].id()).collect();
            crate::fail!(
                Config,
                "the task graph has a cycle: {} -> {}",
                names.join(" -> "),
                names[0]
            );
        }
        Ok(g)
    }

    /// The index of the task `id` (`APP.TASK`).
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The indices of `selected` and of every task upstream of them, sorted.
    pub fn with_upstream(&self, selected: &[TaskRef<'_>]) -> Vec<usize> {
        let mut seen = vec![false; self.tasks.len()];
        let mut stack: Vec<usize> = selected
            .iter()
            .filter_map(|t| self.index_of(&t.id()))
            .collect();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut seen[i], true) {
                stack.extend(&self.upstream[i]);
            }
        }
        (0..seen.len()).filter(|&i| seen[i]).collect()
    }

    /// `subset` in an order where every task comes after those it depends on (ties by id).
    pub fn ordered(&self, subset: &[usize]) -> Vec<usize> {
        let mut inside = vec![false; self.tasks.len()];
        for &i in subset {
            inside[i] = true;
        }
        let mut left: Vec<usize> = self
            .upstream
            .iter()
            .map(|ups| ups.iter().filter(|&&a| inside[a]).count())
            .collect();
        let mut ready: std::collections::BTreeSet<usize> =
            subset.iter().copied().filter(|&i| left[i] == 0).collect();
        let mut out = Vec::with_capacity(subset.len());
        while let Some(i) = ready.pop_first() {
            out.push(i);
            for &b in &self.downstream[i] {
                if inside[b] {
                    left[b] -= 1;
                    if left[b] == 0 {
                        ready.insert(b);
                    }
                }
            }
        }
        out
    }

    /// [`Graph::restricted`] to the tasks with these ids (those the graph knows).
    pub fn restricted_to(&self, ids: impl Iterator<Item = String>) -> Vec<Vec<usize>> {
        let at: Vec<usize> = ids.filter_map(|id| self.index_of(&id)).collect();
        self.restricted(&at)
    }

    /// For each task of `subset`, those of `subset` it depends on directly or through tasks
    /// outside it (indices into `subset`).
    pub fn restricted(&self, subset: &[usize]) -> Vec<Vec<usize>> {
        let pos: HashMap<usize, usize> = subset.iter().enumerate().map(|(p, &i)| (i, p)).collect();
        subset
            .iter()
            .map(|&i| {
                let mut found = std::collections::BTreeSet::new();
                let mut seen = vec![false; self.tasks.len()];
                let mut stack = self.upstream[i].clone();
                while let Some(a) = stack.pop() {
                    if std::mem::replace(&mut seen[a], true) {
                        continue;
                    }
                    match pos.get(&a) {
                        Some(&p) => {
                            found.insert(p);
                        }
                        None => stack.extend(&self.upstream[a]),
                    }
                }
                found.into_iter().collect()
            })
            .collect()
    }

    /// One cycle's tasks in order, if there is one.
    fn cycle(&self) -> Option<Vec<usize>> {
        // 0: not visited, 1: on the current path, 2: done.
        let mut state = vec![0u8; self.tasks.len()];
        let mut path: Vec<usize> = Vec::new();
        for start in 0..self.tasks.len() {
            if state[start] != 0 {
                continue;
            }
            // Each frame: a task and how many of its upstream tasks were entered.
            let mut frames: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            path.push(start);
            while let Some(&mut (i, ref mut next)) = frames.last_mut() {
                if let Some(&a) = self.upstream[i].get(*next) {
                    *next += 1;
                    match state[a] {
                        0 => {
                            state[a] = 1;
                            path.push(a);
                            frames.push((a, 0));
                        }
                        1 => {
                            let at = path.iter().position(|&p| p == a).unwrap_or(0);
                            let mut cycle = path[at..].to_vec();
                            // Upstream edges walked: show it in the order tasks run.
                            cycle.reverse();
                            // From its first task by id, so that the message is the same
                            // whichever task the search entered the cycle by.
                            let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap_or(0);
                            cycle.rotate_left(first);
                            return Some(cycle);
                        }
                        _ => {}
                    }
                } else {
                    state[i] = 2;
                    path.pop();
                    frames.pop();
                }
            }
        }
        None
    }
}
