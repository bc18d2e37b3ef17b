//! The `process_*` metrics of the Prometheus client conventions, read from
//! `/proc/self` on each scrape (Linux).
//!
//! Why not the `prometheus` crate's `ProcessCollector`: it counts
//! `process_cpu_seconds_total` in whole seconds (an integer counter), so
//! `rate()` over a few minutes of a pod with one CPU moves in steps of
//! 1/300 and misses short saturation. This one reports clock ticks (1/100 s
//! on Linux) as fractional seconds; the other families are the same.

use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};

use super::proto;

const CPU: (&str, &str) = (
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
);
const GAUGES: [(&str, &str); 6] = [
    ("process_open_fds", "Number of open file descriptors."),
    (
        "process_max_fds",
        "Maximum number of open file descriptors.",
    ),
    (
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
    ),
    (
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
    ),
    (
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
    ),
    ("process_threads", "Number of OS threads in the process."),
];

/// One reading of `/proc/self`; a field is `None` when its file could not
/// be read (its family is then left out of the scrape).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ProcessReading {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) open_fds: Option<f64>,
    pub(crate) max_fds: Option<f64>,
    pub(crate) virtual_bytes: Option<f64>,
    pub(crate) resident_bytes: Option<f64>,
    pub(crate) start_time_seconds: Option<f64>,
    pub(crate) threads: Option<f64>,
}

impl ProcessReading {
    /// Reads this process's figures.
    pub(crate) fn now() -> Self {
        let Ok(me) = procfs::process::Process::myself() else {
            return Self::default();
        };
        let mut out = Self {
            open_fds: me.fd_count().ok().map(|n| n as f64),
            max_fds: me
                .limits()
                .ok()
                .and_then(|l| match l.max_open_files.soft_limit {
                    procfs::process::LimitValue::Value(n) => Some(n as f64),
                    procfs::process::LimitValue::Unlimited => None,
                }),
            ..Self::default()
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second().max(1) as f64;
            out.cpu_seconds = Some((stat.utime + stat.stime) as f64 / ticks);
            out.virtual_bytes = Some(stat.vsize as f64);
            out.resident_bytes = Some(stat.rss as f64 * procfs::page_size() as f64);
            out.threads = Some(stat.num_threads as f64);
            out.start_time_seconds = procfs::boot_time_secs()
                .ok()
                .map(|boot| boot as f64 + stat.starttime as f64 / ticks);
        }
        out
    }

    /// The families of this reading.
    pub(crate) fn families(&self) -> Vec<MetricFamily> {
        let mut out = Vec::with_capacity(1 + GAUGES.len());
        if let Some(cpu) = self.cpu_seconds {
            let mut f = proto::family(CPU.0, CPU.1, MetricType::COUNTER);
            f.set_metric(vec![proto::counter(Vec::new(), cpu)]);
            out.push(f);
        }
        let values = [
            self.open_fds,
            self.max_fds,
            self.virtual_bytes,
            self.resident_bytes,
            self.start_time_seconds,
            self.threads,
        ];
        for ((name, help), value) in GAUGES.iter().zip(values) {
            if let Some(v) = value {
                let mut f = proto::family(name, help, MetricType::GAUGE);
                f.set_metric(vec![proto::gauge(Vec::new(), v)]);
                out.push(f);
            }
        }
        out
    }
}

/// The collector registered in a `Telemetry`'s registry.
pub(crate) struct ProcessCollector {
    descs: Vec<Desc>,
}

impl ProcessCollector {
    pub(crate) fn new() -> Self {
        let descs = std::iter::once(CPU)
            .chain(GAUGES)
            .map(|(name, help)| proto::desc(name, help, &[]))
            .collect();
        Self { descs }
    }
}

impl Collector for ProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        ProcessReading::now().families()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_read_and_cpu_time_has_fractions() {
        // Burn a little CPU so the reading is not 0.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let reading = ProcessReading::now();
        let families = reading.families();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), 7, "{names:?}");
        let cpu = reading.cpu_seconds.unwrap();
        assert!(cpu > 0.0, "{cpu}");
        // Clock ticks, not whole seconds: a multiple of 1/100 (USER_HZ).
        let ticks = cpu * procfs::ticks_per_second() as f64;
        assert!((ticks - ticks.round()).abs() < 1e-6, "{cpu}");
        assert!(reading.resident_bytes.unwrap() > 1_000_000.0);
        assert!(reading.open_fds.unwrap() >= 3.0);
        let start = reading.start_time_seconds.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            start > now - 3600.0 && start <= now + 1.0,
            "{start} vs {now}"
        );
        // The families and descriptors agree (the registry checks that).
        let registry = prometheus::Registry::new();
        registry
            .register(Box::new(ProcessCollector::new()))
            .unwrap();
        let gathered = registry.gather();
        let cpu_family = gathered
            .iter()
            .find(|f| f.name() == "process_cpu_seconds_total")
            .unwrap();
        assert_eq!(cpu_family.get_field_type(), MetricType::COUNTER);
    }

    #[test]
    fn an_unreadable_figure_leaves_its_family_out() {
        let reading = ProcessReading {
            cpu_seconds: Some(1.25),
            threads: Some(4.0),
            ..ProcessReading::default()
        };
        let families = reading.families();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["process_cpu_seconds_total", "process_threads"]);
        assert_eq!(families[0].get_metric()[0].get_counter().get_value(), 1.25);
    }
}
