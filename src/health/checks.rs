//! Built-in checks. Each reports an observed value and unit, and its
//! thresholds are parameters. The process checks (memory, CPU) suit
//! liveness; disk, TCP and HTTP checks are readiness material (a liveness
//! probe must not depend on another system).
//!
//! ```
//! use redline::health::{checks, CheckOptions, Probe};
//! let health = redline::health::HealthRegistry::new();
//! health.register("memory:utilization", CheckOptions::liveness().critical(false), checks::memory(0.85, 0.95));
//! health.register("disk:free", CheckOptions::readiness().critical(false), checks::disk_free("/", 0.10, 0.02));
//! ```

use std::net::SocketAddr;
#[cfg(feature = "system")]
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[cfg(feature = "system")]
use super::check::{CheckFuture, Status};
use super::check::{CheckResult, HealthCheck};

/// Why a built-in check could not be created.
///
/// ```
/// let err = redline::health::checks::http_get("https://example.com/").err().unwrap();
/// assert!(err.to_string().contains("http://"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The URL of an HTTP check is not a plain `http://` URL with a host.
    #[error("health check URL {url:?}: {reason} (plain http:// URLs only)")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

#[cfg(feature = "system")]
fn judge(value: f64, warn: f64, fail: f64, higher_is_worse: bool) -> Status {
    let over = |limit: f64| {
        if higher_is_worse {
            value >= limit
        } else {
            value <= limit
        }
    };
    if over(fail) {
        Status::Fail
    } else if over(warn) {
        Status::Warn
    } else {
        Status::Pass
    }
}

#[cfg(feature = "system")]
fn with_status(result: CheckResult, status: Status, text: String) -> CheckResult {
    let mut r = result;
    r.status = status;
    if status != Status::Pass {
        r.output = Some(text);
    }
    r
}

#[cfg(feature = "system")]
struct Blocking<F>(F);

#[cfg(feature = "system")]
impl<F> HealthCheck for Blocking<F>
where
    F: Fn() -> CheckResult + Clone + Send + Sync + 'static,
{
    fn run(&self) -> CheckFuture {
        let f = self.0.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(f)
                .await
                .unwrap_or_else(|_| CheckResult::fail("check panicked"))
        })
    }
}

#[cfg(feature = "system")]
#[cfg_attr(docsrs, doc(cfg(feature = "system")))]
/// Process memory (resident set) against the memory limit: the cgroup's
/// when one is set (containers), else the machine's total. Observed value:
/// percent of the limit. Warns at `warn_ratio`, fails at `fail_ratio`
/// (ratios 0 to 1).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use redline::health::HealthCheck;
/// let r = redline::health::checks::memory(0.85, 0.95).run().await;
/// assert_eq!(r.observed_unit.as_deref(), Some("percent"));
/// # });
/// ```
pub fn memory(warn_ratio: f64, fail_ratio: f64) -> impl HealthCheck {
    Blocking(move || {
        let (Some(rss), Some(limit)) = memory_now() else {
            return CheckResult::fail("process memory or memory limit unavailable");
        };
        let ratio = rss as f64 / limit as f64;
        let status = judge(ratio, warn_ratio, fail_ratio, true);
        with_status(
            CheckResult::pass().observed((ratio * 10_000.0).round() / 100.0, "percent"),
            status,
            format!(
                "resident memory {} MiB of a {} MiB limit",
                rss >> 20,
                limit >> 20
            ),
        )
    })
}

#[cfg(feature = "system")]
/// The process's resident memory and the memory limit (cgroup, else the
/// machine's total), in bytes. Blocking.
pub(crate) fn memory_now() -> (Option<u64>, Option<u64>) {
    let Ok(mut system) = sysinfo::System::new() else {
        return (None, None);
    };
    system.refresh_memory();
    let limit = system
        .cgroup_limits()
        .map(|l| l.total_memory)
        .filter(|&l| l > 0)
        .unwrap_or_else(|| system.total_memory());
    (process_rss(&mut system), (limit > 0).then_some(limit))
}

#[cfg(feature = "system")]
fn process_rss(system: &mut sysinfo::System) -> Option<u64> {
    let pid = sysinfo::get_current_pid().ok()?;
    system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), false);
    system.process(pid).map(|p| p.memory())
}

#[cfg(feature = "system")]
#[cfg_attr(docsrs, doc(cfg(feature = "system")))]
/// CPU saturation: the 1-minute load average per logical CPU (1.0 means
/// every CPU busy with one runnable task). Observed value: that ratio.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use redline::health::HealthCheck;
/// let r = redline::health::checks::cpu(1.5, 3.0).run().await;
/// assert_eq!(r.observed_unit.as_deref(), Some("load per cpu"));
/// # });
/// ```
pub fn cpu(warn_load_per_cpu: f64, fail_load_per_cpu: f64) -> impl HealthCheck {
    Blocking(move || {
        let Ok(load) = sysinfo::System::load_average() else {
            return CheckResult::fail("load average unavailable");
        };
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        let per_cpu = load.one / cpus;
        let status = judge(per_cpu, warn_load_per_cpu, fail_load_per_cpu, true);
        with_status(
            CheckResult::pass().observed((per_cpu * 100.0).round() / 100.0, "load per cpu"),
            status,
            format!("1-minute load {:.2} on {cpus} CPUs", load.one),
        )
    })
}

#[cfg(feature = "system")]
#[cfg_attr(docsrs, doc(cfg(feature = "system")))]
/// Free space on the file system holding `path`. Observed value: percent
/// free. Warns at or below `warn_free_ratio`, fails at or below
/// `fail_free_ratio`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use redline::health::HealthCheck;
/// let r = redline::health::checks::disk_free("/", 0.10, 0.02).run().await;
/// assert_eq!(r.observed_unit.as_deref(), Some("percent free"));
/// # });
/// ```
pub fn disk_free(
    path: impl Into<PathBuf>,
    warn_free_ratio: f64,
    fail_free_ratio: f64,
) -> impl HealthCheck {
    let path = path.into();
    Blocking(move || {
        let Ok(disks) = sysinfo::Disks::new_with_refreshed_list() else {
            return CheckResult::fail("disk information unavailable");
        };
        let target = path.canonicalize().unwrap_or_else(|_| path.clone());
        // The mount point that is the longest prefix of the path.
        let Some(disk) = disks
            .iter()
            .filter(|d| target.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len())
        else {
            return CheckResult::fail(format!("no file system found for {}", path.display()));
        };
        let total = disk.total_space();
        if total == 0 {
            return CheckResult::fail(format!("{} reports no size", disk.mount_point().display()));
        }
        let free = disk.available_space() as f64 / total as f64;
        let status = judge(free, warn_free_ratio, fail_free_ratio, false);
        with_status(
            CheckResult::pass().observed((free * 10_000.0).round() / 100.0, "percent free"),
            status,
            format!(
                "{} MiB free of {} MiB on {}",
                disk.available_space() >> 20,
                total >> 20,
                disk.mount_point().display()
            ),
        )
    })
}

/// A TCP connection to `addr` (a database, a broker). Observed value: the
/// connect time in milliseconds. The registry's timeout bounds it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use redline::health::{HealthCheck, Status};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let r = redline::health::checks::tcp(listener.local_addr().unwrap()).run().await;
/// assert_eq!(r.status, Status::Pass);
/// # });
/// ```
pub fn tcp(addr: SocketAddr) -> impl HealthCheck {
    move || async move {
        let started = Instant::now();
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => CheckResult::pass().observed(ms(started.elapsed()), "ms"),
            Err(e) => CheckResult::fail(format!("cannot connect to {addr}: {e}"))
                .observed(ms(started.elapsed()), "ms"),
        }
    }
}

/// `GET url`, expecting a 2xx answer. Observed value: the response time in
/// milliseconds. Plain `http://` only (for a sidecar, a local agent or an
/// internal service); the registry's timeout bounds it.
///
/// ```
/// let check = redline::health::checks::http_get("http://127.0.0.1:8080/ready");
/// assert!(check.is_ok());
/// assert!(redline::health::checks::http_get("not a url").is_err());
/// ```
pub fn http_get(url: &str) -> Result<impl HealthCheck + use<>, CheckError> {
    let bad = |reason: &str| CheckError::Url {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("the scheme must be http://"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    Ok(move || {
        let client = client.clone();
        let uri = uri.clone();
        async move {
            let started = Instant::now();
            match client.get(uri.clone()).await {
                Ok(response) if response.status().is_success() => {
                    CheckResult::pass().observed(ms(started.elapsed()), "ms")
                }
                Ok(response) => {
                    CheckResult::fail(format!("GET {uri} answered {}", response.status()))
                        .observed(ms(started.elapsed()), "ms")
                }
                Err(e) => CheckResult::fail(format!("GET {uri} failed: {e}"))
                    .observed(ms(started.elapsed()), "ms"),
            }
        }
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Status;

    #[cfg(feature = "system")]
    #[test]
    fn thresholds() {
        assert_eq!(judge(0.5, 0.8, 0.9, true), Status::Pass);
        assert_eq!(judge(0.8, 0.8, 0.9, true), Status::Warn);
        assert_eq!(judge(0.95, 0.8, 0.9, true), Status::Fail);
        assert_eq!(judge(0.5, 0.1, 0.02, false), Status::Pass);
        assert_eq!(judge(0.05, 0.1, 0.02, false), Status::Warn);
        assert_eq!(judge(0.01, 0.1, 0.02, false), Status::Fail);
    }

    #[cfg(feature = "system")]
    #[tokio::test]
    async fn process_checks_report_values() {
        let m = memory(0.99, 1.0).run().await;
        assert!(
            m.observed_value.is_some_and(|v| v > 0.0 && v < 100.0),
            "{m:?}"
        );
        let strict = memory(0.0, 1.0).run().await;
        assert_eq!(
            strict.status,
            Status::Warn,
            "any usage is over a 0 warn threshold"
        );
        let d = disk_free("/", 0.0, 0.0).run().await;
        assert_eq!(d.status, Status::Pass, "{d:?}");
        let c = cpu(1000.0, 2000.0).run().await;
        assert_eq!(c.status, Status::Pass, "{c:?}");
    }

    /// A path on a memory file system is measured on that file system (with
    /// sysinfo's default, tmpfs mounts are not listed and `/` answered).
    #[cfg(feature = "system")]
    #[tokio::test]
    async fn disk_free_measures_the_file_system_of_the_path() {
        let shm = std::path::Path::new("/dev/shm");
        let on_tmpfs = std::fs::read_to_string("/proc/mounts")
            .is_ok_and(|m| m.lines().any(|l| l.contains(" /dev/shm tmpfs ")));
        if !shm.is_dir() || !on_tmpfs {
            eprintln!("no tmpfs at /dev/shm here: skipped");
            return;
        }
        let dir = tempfile::tempdir_in(shm).unwrap();
        // Warn below 100% free: always a warning, whose text names the mount.
        let d = disk_free(dir.path(), 1.0, 0.0).run().await;
        let output = d.output.unwrap_or_default();
        assert!(output.ends_with(" on /dev/shm"), "{output}");
    }

    #[tokio::test]
    async fn network_checks_fail_cleanly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // Nothing listens there any more.
        let r = tcp(port).run().await;
        assert_eq!(r.status, Status::Fail);
        let r = http_get(&format!("http://{port}/ready"))
            .unwrap()
            .run()
            .await;
        assert_eq!(r.status, Status::Fail);
        assert!(r.output.unwrap().contains("failed"));
    }
}
