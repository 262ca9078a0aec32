//! How many CPUs this process may use (what `ci3/source` exposes as `get_num_cpus`).

use std::path::Path;

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
    fn at_least_one() {
        assert!(cpus() >= 1);
    }
}
