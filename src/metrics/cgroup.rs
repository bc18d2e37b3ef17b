//! The CPU limit of the cgroup the process runs in, in cores: what a
//! container's `resources.limits.cpu` becomes. sysinfo reads the cgroup
//! memory limit but not this one.
//!
//! cgroup v2: `cpu.max` (`<quota> <period>`, or `max <period>` without a
//! limit) of the process's cgroup and of each ancestor up to the mount
//! root; the tightest wins. cgroup v1: `cpu.cfs_quota_us` (`-1` without a
//! limit) over `cpu.cfs_period_us` of the `cpu` controller.

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// The limit in cores, `None` when there is none (or no cgroup file can be
/// read, as off Linux).
pub(crate) fn cpu_limit_cores() -> Option<f64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let root = Path::new(ROOT);
    v2_limit(root, &membership).or_else(|| v1_limit(root, &membership))
}

fn v2_limit(root: &Path, membership: &str) -> Option<f64> {
    let own = membership.lines().find_map(|l| l.strip_prefix("0::"))?;
    // From the process's cgroup up to the mount's root (inside a cgroup
    // namespace the path is often just `/`).
    let mut dir = within(root, own);
    let mut tightest: Option<f64> = None;
    loop {
        if let Some(limit) = std::fs::read_to_string(dir.join("cpu.max"))
            .ok()
            .and_then(|t| parse_cpu_max(&t))
        {
            tightest = Some(tightest.map_or(limit, |t| t.min(limit)));
        }
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            break;
        }
    }
    tightest
}

fn v1_limit(root: &Path, membership: &str) -> Option<f64> {
    // `4:cpu,cpuacct:/docker/abc`: the line whose controllers include cpu.
    let own = membership.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == "cpu").then_some(path)
    })?;
    ["cpu", "cpu,cpuacct", "cpuacct,cpu"]
        .iter()
        .find_map(|mount| {
            [within(&root.join(mount), own), root.join(mount)]
                .iter()
                .find_map(|dir| {
                    let quota = std::fs::read_to_string(dir.join("cpu.cfs_quota_us")).ok()?;
                    let period = std::fs::read_to_string(dir.join("cpu.cfs_period_us")).ok()?;
                    parse_cfs(&quota, &period)
                })
        })
}

/// `path` (absolute, from `/proc/self/cgroup`) under `root`.
fn within(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim().trim_start_matches('/'))
}

/// `cpu.max`: `200000 100000` → 2 cores; `max 100000` → none.
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_whitespace();
    let quota: f64 = fields.next()?.parse().ok()?;
    let period: f64 = fields.next().map_or(Some(100_000.0), |p| p.parse().ok())?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// cgroup v1: quota `-1` means none.
fn parse_cfs(quota: &str, period: &str) -> Option<f64> {
    let quota: f64 = quota.trim().parse().ok()?;
    let period: f64 = period.trim().parse().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max_and_cfs_values() {
        assert_eq!(parse_cpu_max("200000 100000\n"), Some(2.0));
        assert_eq!(parse_cpu_max("50000 100000"), Some(0.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max(""), None);
        assert_eq!(parse_cpu_max("0 100000"), None);
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("150000", "100000"), Some(1.5));
        assert_eq!(parse_cfs("x", "100000"), None);
    }

    #[test]
    fn the_tightest_limit_of_the_cgroup_and_its_ancestors_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("kubepods/pod1/ctr")).unwrap();
        std::fs::write(root.join("cpu.max"), "max 100000\n").unwrap();
        std::fs::write(root.join("kubepods/cpu.max"), "400000 100000\n").unwrap();
        std::fs::write(root.join("kubepods/pod1/cpu.max"), "50000 100000\n").unwrap();
        std::fs::write(root.join("kubepods/pod1/ctr/cpu.max"), "max 100000\n").unwrap();
        assert_eq!(v2_limit(root, "0::/kubepods/pod1/ctr\n"), Some(0.5));
        assert_eq!(v2_limit(root, "0::/\n"), None, "the root has none");
        assert_eq!(v2_limit(root, "12:cpu:/x\n"), None, "not v2");
    }

    #[test]
    fn v1_reads_the_cpu_controller() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let own = root.join("cpu,cpuacct/docker/abc");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("cpu.cfs_quota_us"), "200000\n").unwrap();
        std::fs::write(own.join("cpu.cfs_period_us"), "100000\n").unwrap();
        let membership = "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n";
        assert_eq!(v1_limit(root, membership), Some(2.0));
        assert_eq!(v1_limit(root, "5:memory:/docker/abc\n"), None);
    }

    #[test]
    fn this_process_reads_without_failing() {
        // Whatever this machine says: no panic, and a positive value if any.
        assert!(cpu_limit_cores().is_none_or(|c| c > 0.0));
    }
}
