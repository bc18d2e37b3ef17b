//! [`ShutdownGuard`]: stops the admin listener and flushes pending spans,
//! each within a bound.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::traces::Tracing;

/// Stops what [`Telemetry::serve_admin`](crate::Telemetry::serve_admin) started. Call
/// [`ShutdownGuard::shutdown`] for a graceful, bounded stop; dropping the
/// guard stops the listener without waiting.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let config = redline::Config { admin_listen: Some("127.0.0.1:0".parse().unwrap()), ..Default::default() };
/// let t = redline::Telemetry::builder().config(config).build().unwrap();
/// let guard: redline::ShutdownGuard = t.serve_admin().await.unwrap();
/// let addr = guard.admin_addr().unwrap();
/// guard.shutdown().await;
/// assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "stopped");
/// # });
/// ```
#[must_use = "dropping the guard stops the admin listener"]
pub struct ShutdownGuard {
    pub(super) admin_addr: Option<SocketAddr>,
    pub(super) stop: Option<watch::Sender<bool>>,
    pub(super) task: Option<JoinHandle<()>>,
    pub(super) tracing: Option<Tracing>,
    pub(super) log_export: Option<crate::logs::LogExport>,
}

/// How long [`ShutdownGuard::shutdown`] waits for in-flight admin requests.
const ADMIN_DRAIN: Duration = Duration::from_secs(5);

impl ShutdownGuard {
    /// The address the admin listener is bound to (useful with port 0).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut config = redline::Config::default();
    /// config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// let t = redline::Telemetry::builder().config(config).build().unwrap();
    /// let guard = t.serve_admin().await.unwrap();
    /// assert_ne!(guard.admin_addr().unwrap().port(), 0);
    /// # });
    /// ```
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Stops the admin listener, letting in-flight scrapes finish (at most
    /// 5 seconds), then flushes pending spans and OTLP log records (each
    /// at most `REDLINE_TRACES_SHUTDOWN_TIMEOUT`, default 3 s, even when
    /// the collector is down or hangs).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let mut config = redline::Config::default();
    /// config.admin_listen = None;
    /// let guard = redline::Telemetry::builder().config(config).build().unwrap()
    ///     .serve_admin().await.unwrap();
    /// guard.shutdown().await;
    /// # let _ = t;
    /// # });
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(ADMIN_DRAIN, &mut task).await.is_err()
        {
            task.abort();
        }
        if let Some(tracing) = self.tracing.take() {
            // The flush blocks (bounded): keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || tracing.shutdown()).await;
        }
        // Flushed, not stopped: the service may still log on its way out
        // (`Telemetry::flush_logs`, last, stops the pipeline).
        if let Some(logs) = self.log_export.take() {
            let _ = tokio::task::spawn_blocking(move || logs.force_flush()).await;
        }
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for ShutdownGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownGuard").finish_non_exhaustive()
    }
}
