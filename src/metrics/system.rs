//! System metrics from `sysinfo`: CPU utilization, memory, the cgroup memory
//! and CPU limits (the CPU one from `cgroup.rs`), load average. Refreshed at most once per interval, on scrape (no
//! background task): scrapes in between get the cached values.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};
use sysinfo::System;

use super::proto;

const FAMILIES: [(&str, &str); 8] = [
    (
        "redline_system_cpu_utilization_ratio",
        "Whole-system CPU utilization between the last two refreshes, 0 to 1.",
    ),
    ("redline_system_logical_cpus", "Logical CPUs of the system."),
    ("redline_system_memory_total_bytes", "Total system memory."),
    (
        "redline_system_memory_available_bytes",
        "Memory available for new allocations without swapping.",
    ),
    ("redline_system_memory_used_bytes", "Memory in use."),
    (
        "redline_system_memory_limit_bytes",
        "Memory limit of the cgroup the process runs in (absent when none is set).",
    ),
    (
        "redline_system_load_average",
        "System load average over the period.",
    ),
    (
        "redline_system_cpu_limit_cores",
        "CPU limit of the cgroup the process runs in, in cores (absent when none is set).",
    ),
];

struct State {
    system: Option<System>,
    refreshed: Option<Instant>,
    refreshes: u64,
    cached: Vec<MetricFamily>,
}

/// Collects system metrics, refreshing at most once per `interval`.
pub(crate) struct SystemCollector {
    interval: Duration,
    state: Mutex<State>,
    descs: Vec<Desc>,
}

impl SystemCollector {
    pub(crate) fn new(interval: Duration) -> Self {
        let descs = FAMILIES
            .iter()
            .map(|(name, help)| {
                let labels: &[&str] = if name.ends_with("load_average") {
                    &["period"]
                } else {
                    &[]
                };
                proto::desc(name, help, labels)
            })
            .collect();
        let mut system = System::new().ok();
        if let Some(s) = system.as_mut() {
            // A first CPU reading, so the first scrape's utilization spans a
            // real interval instead of being 0.
            s.refresh_cpu_usage();
        }
        Self {
            interval,
            state: Mutex::new(State {
                system,
                refreshed: None,
                refreshes: 0,
                cached: Vec::new(),
            }),
            descs,
        }
    }

    fn refresh(system: &mut System) -> Vec<MetricFamily> {
        system.refresh_cpu_usage();
        system.refresh_memory();
        let gauge = |i: usize, value: f64| {
            let (name, help) = FAMILIES[i];
            let mut f = proto::family(name, help, MetricType::GAUGE);
            f.set_metric(vec![proto::gauge(Vec::new(), value)]);
            f
        };
        let mut out = vec![
            gauge(
                0,
                f64::from(system.global_cpu_usage()).clamp(0.0, 100.0) / 100.0,
            ),
            gauge(1, system.cpus().len() as f64),
            gauge(2, system.total_memory() as f64),
            gauge(3, system.available_memory() as f64),
            gauge(4, system.used_memory() as f64),
        ];
        if let Some(limits) = system.cgroup_limits() {
            out.push(gauge(5, limits.total_memory as f64));
        }
        if let Some(cores) = super::cgroup::cpu_limit_cores() {
            out.push(gauge(7, cores));
        }
        if let Ok(load) = System::load_average() {
            let (name, help) = FAMILIES[6];
            let mut f = proto::family(name, help, MetricType::GAUGE);
            f.set_metric(
                [("1m", load.one), ("5m", load.five), ("15m", load.fifteen)]
                    .into_iter()
                    .map(|(period, v)| proto::gauge(proto::labels(&[("period", period)]), v))
                    .collect(),
            );
            out.push(f);
        }
        out
    }
}

impl Collector for SystemCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let due = state
            .refreshed
            .is_none_or(|at| at.elapsed() >= self.interval);
        if due {
            let State {
                system,
                cached,
                refreshed,
                refreshes,
            } = &mut *state;
            if let Some(system) = system.as_mut() {
                *cached = Self::refresh(system);
            }
            *refreshed = Some(Instant::now());
            *refreshes += 1;
        }
        state.cached.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refreshes(c: &SystemCollector) -> u64 {
        c.state.lock().unwrap().refreshes
    }

    #[test]
    fn refreshes_at_most_once_per_interval() {
        let slow = SystemCollector::new(Duration::from_secs(3600));
        let first = slow.collect();
        for _ in 0..10 {
            assert_eq!(slow.collect(), first, "cached values between refreshes");
        }
        assert_eq!(refreshes(&slow), 1);

        let fast = SystemCollector::new(Duration::from_millis(10));
        fast.collect();
        std::thread::sleep(Duration::from_millis(20));
        fast.collect();
        assert_eq!(refreshes(&fast), 2);
        let names: Vec<String> = fast.collect().iter().map(|f| f.name().to_owned()).collect();
        assert!(
            names.contains(&"redline_system_memory_total_bytes".to_string()),
            "{names:?}"
        );
    }
}
