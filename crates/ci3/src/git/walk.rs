//! The work-tree walk of the dirty check: one pass over the directories that can hold matching
//! paths, on all cores, that both compares tracked matching files with the index and lists
//! untracked, not ignored matching files.
//!
//! Each file is stat'ed through its directory's open handle (`DirEntry::metadata`), which costs
//! a fraction of a full path lookup; directories that neither hold matching index entries nor
//! can hold matching paths, and ignored ones, are never read.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Condvar, Mutex};

use crate::error::{Error, IoAt, Result};
use gix::bstr::ByteSlice;

use super::checkout::Checkout;
use super::disk::{is_missing, Disk, State};
use super::entry::{os_path, Mode};
use super::filter::{Matched, PathFilter};
use super::index::Index;

/// What the walk saw: the state of each matched entry (by position; `None` when its directory
/// was not met) and the untracked matching paths, relative to the hashing root.
pub(crate) struct Found {
    pub states: Vec<Option<State>>,
    pub untracked: Vec<Vec<u8>>,
}

/// Everything the walking threads share, read-only.
struct Shared<'a> {
    prefix: &'a [u8],
    index: &'a Index,
    matcher: &'a dyn PathFilter,
    matched: &'a [Matched<'a>],
    disk: &'a Disk<'a>,
    /// Positions in `matched` of the entries directly in each directory (`dir/`, or the root prefix).
    buckets: HashMap<&'a [u8], Vec<usize>>,
    /// Every directory (`dir/`) with a matched entry somewhere below it.
    dirs_with_matches: HashSet<&'a [u8]>,
}

/// A directory to read (top-level relative, ending in `/`, or the root prefix) and whether
/// untracked files below it count (false inside ignored directories).
type Job = (Vec<u8>, bool);

pub(crate) fn walk(
    co: &Checkout,
    index: &Index,
    matcher: &dyn PathFilter,
    matched: &[Matched<'_>],
    disk: &Disk<'_>,
) -> Result<Found> {
    let mut buckets: HashMap<&[u8], Vec<usize>> = HashMap::new();
    let mut dirs_with_matches = HashSet::new();
    for (i, m) in matched.iter().enumerate() {
        let dir_len = m.full.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1);
        let dir = &m.full[..dir_len.max(co.prefix.len())];
        buckets.entry(dir).or_default().push(i);
        let mut end = dir.len();
        while end > co.prefix.len() && dirs_with_matches.insert(&m.full[..end]) {
            end = m.full[..end - 1]
                .iter()
                .rposition(|&b| b == b'/')
                .map_or(0, |p| p + 1);
        }
    }
    let shared = Shared {
        prefix: &co.prefix,
        index,
        matcher,
        matched,
        disk,
        buckets,
        dirs_with_matches,
    };
    let queue = Queue::new((co.prefix.clone(), true));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let sync_repo = co.repo.clone().into_sync();

    let workdir = co.workdir.as_path();
    let results: Vec<Result<Walker>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (shared, queue, sync_repo) = (&shared, &queue, &sync_repo);
                s.spawn(move || -> Result<Walker> {
                    let repo = sync_repo.to_thread_local();
                    // Tracked ignore files missing from the disk only matter in sparse checkouts.
                    let no_index = gix::index::State::new(repo.object_hash());
                    let mut excludes = repo
                        .excludes(&no_index, None, gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped)
                        .map_err(|e| Error::io(workdir, format!("cannot read the ignore rules: {e}")));
                    let mut walker = Walker { states: Vec::new(), untracked: Vec::new() };
                    let mut failure = None;
                    while let Some((dir, report)) = queue.next() {
                        let more = match (&mut excludes, &failure) {
                            (Ok(excludes), None) => walker.visit(shared, excludes, dir, report),
                            _ => Ok(Vec::new()),
                        };
                        match more {
                            Ok(more) => queue.done(more),
                            Err(e) => {
                                failure.get_or_insert(e);
                                queue.done(Vec::new());
                            }
                        }
                    }
                    excludes?;
                    failure.map_or(Ok(walker), Err)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("walk thread panicked"))
            .collect()
    });

    let mut found = Found {
        states: matched.iter().map(|_| None).collect(),
        untracked: Vec::new(),
    };
    for walker in results {
        let walker = walker?;
        for (i, state) in walker.states {
            found.states[i] = Some(state);
        }
        found.untracked.extend(walker.untracked);
    }
    Ok(found)
}

struct Walker {
    states: Vec<(usize, State)>,
    untracked: Vec<Vec<u8>>,
}

impl Walker {
    /// Reads directory `dir`; returns the subdirectories to read next.
    fn visit(
        &mut self,
        sh: &Shared<'_>,
        excludes: &mut gix::AttributeStack<'_>,
        dir: Vec<u8>,
        report: bool,
    ) -> Result<Vec<Job>> {
        let disk_dir = sh.disk.workdir().join(os_path(&dir));
        let read = match fs::read_dir(&disk_dir) {
            Ok(read) => read,
            Err(err) if is_missing(&err) => return Ok(Vec::new()),
            Err(err) => return Err(err).at("cannot list", &disk_dir),
        };
        let bucket = sh
            .buckets
            .get(dir.as_slice())
            .map_or(&[][..], Vec::as_slice);
        // Sorted by name, the listing meets the bucket (in index order, so sorted too) in one
        // merge instead of a binary search per file.
        let mut listing = Vec::new();
        for dirent in read {
            let dirent = dirent.at("cannot list", &disk_dir)?;
            let file_name = dirent.file_name();
            if file_name.as_bytes() != b".git" {
                listing.push((file_name, dirent));
            }
        }
        listing.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut pending = bucket.iter().peekable();
        let mut subdirs = Vec::new();
        let mut path = dir.clone();
        for (file_name, dirent) in listing {
            let name = file_name.as_bytes();
            path.truncate(dir.len());
            path.extend_from_slice(name);

            let mut tracked = None;
            while let Some(&&i) = pending.peek() {
                match sh.matched[i].full[dir.len()..].cmp(name) {
                    std::cmp::Ordering::Less => {
                        pending.next();
                    }
                    std::cmp::Ordering::Equal => {
                        tracked = Some(i);
                        pending.next();
                        break;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            if let Some(i) = tracked {
                let entry = &sh.matched[i].entry;
                let state = if entry.mode() == Some(Mode::Gitlink) {
                    sh.disk.state(entry, &disk_dir.join(&file_name), None)?
                } else {
                    match dirent.metadata() {
                        Ok(md) if sh.disk.unchanged(entry, &md) => State::Clean,
                        Ok(md) => sh.disk.state(entry, &disk_dir.join(&file_name), Some(md))?,
                        Err(err) if is_missing(&err) => State::Deleted,
                        Err(err) => return Err(err).at("cannot stat", &disk_dir.join(&file_name)),
                    }
                };
                self.states.push((i, state));
                continue;
            }

            let is_dir = dirent.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                if sh.index.contains(&path) {
                    // A submodule the patterns do not match (or a tracked file now a directory).
                    continue;
                }
                path.push(b'/');
                let rel = &path[sh.prefix.len()..];
                let has_matches = sh.dirs_with_matches.contains(path.as_slice());
                if !(has_matches || report && sh.matcher.may_match_under(rel)) {
                    continue;
                }
                let ignored = report && is_excluded(excludes, &path[..path.len() - 1], true)?;
                let report_below = report && !ignored;
                if !has_matches && !report_below {
                    continue;
                }
                if report_below
                    && sh.index.prefixed(&path).is_empty()
                    && disk_dir.join(&file_name).join(".git").exists()
                {
                    // An untracked nested repository is listed as one path, `dir/`, not entered.
                    if sh.matcher.is_match(rel) {
                        self.untracked.push(rel.to_vec());
                    }
                    continue;
                }
                subdirs.push((path.clone(), report_below));
            } else if report {
                // A tracked matching path is always in the bucket, so this one is untracked.
                let rel = &path[sh.prefix.len()..];
                if sh.matcher.is_match(rel) && !is_excluded(excludes, &path, false)? {
                    self.untracked.push(rel.to_vec());
                }
            }
        }
        Ok(subdirs)
    }
}

fn is_excluded(excludes: &mut gix::AttributeStack<'_>, path: &[u8], is_dir: bool) -> Result<bool> {
    let mode = is_dir.then_some(gix::index::entry::Mode::DIR);
    let platform = excludes.at_entry(path.as_bstr(), mode).map_err(|e| {
        crate::err!(
            Io,
            "cannot evaluate ignore rules for {}: {e}",
            path.as_bstr()
        )
    })?;
    Ok(platform.is_excluded())
}

/// A work queue of directories that ends when it is empty and no thread can add to it.
struct Queue {
    state: Mutex<(Vec<Job>, usize)>,
    ready: Condvar,
}

impl Queue {
    fn new(first: Job) -> Self {
        Queue {
            state: Mutex::new((vec![first], 0)),
            ready: Condvar::new(),
        }
    }

    /// The next directory, or `None` when all work is done.
    fn next(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = state.0.pop() {
                state.1 += 1;
                return Some(job);
            }
            if state.1 == 0 {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Marks a job finished, queueing the directories it found.
    fn done(&self, more: Vec<Job>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0.extend(more);
        state.1 -= 1;
        self.ready.notify_all();
    }
}
