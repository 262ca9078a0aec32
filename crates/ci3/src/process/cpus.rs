//! The CPUs this process may use (what `ci3/source` exposes as `get_num_cpus`), pinning a
//! child to some of them, and sharing them out among children that run side by side.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The cgroup v2 `cpu.max` quota when one limits this process, else the available parallelism
/// (never more than the latter: a quota does not add CPUs the affinity mask forbids).
pub fn cpus() -> usize {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    cgroup_quota().map_or(available, |quota| quota.min(available))
}

/// The tightest `cpu.max` quota from this process's cgroup up to the root, in whole CPUs.
fn cgroup_quota() -> Option<usize> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let relative = own.lines().find_map(|line| line.strip_prefix("0::"))?;
    let root = Path::new("/sys/fs/cgroup");
    let mut dir = root.join(relative.trim_start_matches('/'));
    let mut tightest: Option<usize> = None;
    loop {
        if let Some(quota) = std::fs::read_to_string(dir.join("cpu.max"))
            .ok()
            .and_then(|text| parse_cpu_max(&text))
        {
            tightest = Some(tightest.map_or(quota, |t| t.min(quota)));
        }
        if dir == root || !dir.pop() {
            return tightest;
        }
    }
}

/// `cpu.max` holds `QUOTA PERIOD` in microseconds, or `max PERIOD` when unlimited. Whole CPUs,
/// rounded down as the original's shell arithmetic did, but at least 1.
fn parse_cpu_max(text: &str) -> Option<usize> {
    let mut fields = text.split_whitespace();
    let quota: u64 = fields.next()?.parse().ok()?;
    let period: u64 = fields.next().map_or(Some(100_000), |p| p.parse().ok())?;
    (period > 0).then(|| ((quota / period) as usize).max(1))
}

/// The cores this process may run on.
pub fn allowed_cores() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain old data that sched_getaffinity fills in.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `set` is valid for `size` bytes.
        if unsafe { libc::sched_getaffinity(0, size, &mut set) } == 0 {
            let cores: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
                // SAFETY: `i` is below CPU_SETSIZE.
                .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
                .collect();
            if !cores.is_empty() {
                return cores;
            }
        }
    }
    (0..cpus()).collect()
}

/// A `taskset -c` list (`0-3,8,10-11`); `None` when it is not one.
pub fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cores = Vec::new();
    for part in list.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                cores.extend(a..=b);
            }
            None => cores.push(part.parse().ok()?),
        }
    }
    (!cores.is_empty()).then_some(cores)
}

/// Pins the child to `cores` before it execs. Best effort: a machine that refuses (cores taken
/// away meanwhile, no permission) runs the test unpinned rather than not at all.
pub fn pin(cmd: &mut Command, cores: Vec<usize>) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain old data; CPU_SET is given indices below CPU_SETSIZE.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for core in cores
            .into_iter()
            .filter(|&c| c < libc::CPU_SETSIZE as usize)
        {
            unsafe { libc::CPU_SET(core, &mut set) };
        }
        // SAFETY: sched_setaffinity is a plain system call, safe between fork and exec; its
        // result is ignored on purpose.
        unsafe {
            cmd.pre_exec(move || {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            })
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (cmd, cores);
}

/// The cores of the machine shared by the tests `parallelize` runs: a test asking for `CPUS`
/// waits until that many are free (a test asking for more than the machine has runs alone),
/// and is pinned to cores no other running test has.
pub struct Cores {
    allowed: Vec<usize>,
    /// The budget: what the cgroup quota and the affinity mask leave us.
    total: usize,
    in_use: usize,
    busy: Vec<bool>,
}

impl Cores {
    pub fn new() -> Cores {
        let allowed = allowed_cores();
        Cores::with(allowed, cpus())
    }

    pub fn with(allowed: Vec<usize>, quota: usize) -> Cores {
        let total = quota.clamp(1, allowed.len().max(1));
        Cores {
            busy: vec![false; allowed.len()],
            allowed,
            total,
            in_use: 0,
        }
    }

    /// What a test asking for `cpus` counts against the budget.
    pub fn need(&self, cpus: usize) -> usize {
        cpus.min(self.total)
    }

    pub fn fits(&self, need: usize) -> bool {
        self.in_use == 0 || self.in_use + need <= self.total
    }

    /// Takes `need` cores: the ones to pin to, `None` when the test gets the whole machine.
    pub fn take(&mut self, need: usize) -> Option<Vec<usize>> {
        self.in_use += need;
        if need == 0 || need >= self.allowed.len() {
            return None;
        }
        let mut picked = Vec::with_capacity(need);
        for (i, busy) in self.busy.iter_mut().enumerate() {
            if picked.len() == need {
                break;
            }
            if !*busy {
                *busy = true;
                picked.push(i);
            }
        }
        Some(picked.into_iter().map(|i| self.allowed[i]).collect())
    }

    /// Gives back what `take(need)` took.
    pub fn give(&mut self, need: usize, cores: Option<&[usize]>) {
        self.in_use -= need;
        for core in cores.unwrap_or_default() {
            if let Some(i) = self.allowed.iter().position(|c| c == core) {
                self.busy[i] = false;
            }
        }
    }
}

impl Default for Cores {
    fn default() -> Self {
        Cores::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("400000 100000\n"), Some(4));
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1));
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(1));
        assert_eq!(parse_cpu_max("200000"), Some(2));
        assert_eq!(parse_cpu_max("100 0"), None);
        assert_eq!(parse_cpu_max(""), None);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("5"), Some(vec![5]));
        for bad in ["", "a", "3-1", "1,,2", "1-"] {
            assert_eq!(parse_cpu_list(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cores_are_shared_out_without_overlap() {
        let mut cores = Cores::with(vec![0, 1, 2, 3], 4);
        let need = cores.need(2);
        assert!(cores.fits(need));
        let a = cores.take(need);
        assert_eq!(a.as_deref(), Some(&[0, 1][..]));
        let b = cores.take(need);
        assert_eq!(b.as_deref(), Some(&[2, 3][..]));
        assert!(!cores.fits(1));
        cores.give(2, a.as_deref());
        assert!(cores.fits(2) && !cores.fits(3));
        assert_eq!(cores.take(1).as_deref(), Some(&[0][..]));
        // More than the machine has: it runs when nothing else does, on the whole machine.
        let mut cores = Cores::with(vec![0, 1], 2);
        let need = cores.need(8);
        assert_eq!(need, 2);
        assert!(cores.fits(need));
        assert_eq!(cores.take(need), None);
        assert!(!cores.fits(cores.need(2)));
        assert!(!cores.fits(1));
        cores.give(need, None);
        // Plain commands count nothing.
        assert!(cores.fits(0));
    }

    #[test]
    fn a_quota_below_the_mask_is_the_budget() {
        let cores = Cores::with((0..8).collect(), 2);
        assert_eq!(cores.need(4), 2);
    }

    #[test]
    fn at_least_one() {
        assert!(cpus() >= 1);
    }
}
