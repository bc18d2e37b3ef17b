//! The server redline runs for a service: [`Telemetry::serve`] serves a
//! router with the hardened accept loop of the admin listener (header-read
//! and idle timeouts, HTTP/2 limits, a connection cap, `client.address` for
//! spans) and hands back a [`Server`] whose [`Server::shutdown`] honours
//! `REDLINE_SHUTDOWN_DELAY` and `REDLINE_SHUTDOWN_GRACE`:
//!
//! 1. `/ready` answers 503 (draining) while the server still serves, for
//!    the shutdown delay, so load balancers and Kubernetes stop sending
//!    traffic;
//! 2. the listener stops accepting, and requests in flight finish, for at
//!    most the grace period; what is left is cut.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! let telemetry = redline::Telemetry::from_env()?;
//! let app = telemetry.instrument(Router::new().route("/", get(|| async { "hi" })));
//! let admin = telemetry.serve_admin().await?;
//! let server = telemetry.serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app)?;
//! redline::shutdown_signal().await; // Ctrl-C or SIGTERM
//! server.shutdown().await;
//! admin.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! [`Telemetry::serve`]: crate::Telemetry::serve

mod listener;
mod settings;

use std::net::SocketAddr;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) use listener::serve_until;
pub(crate) use settings::{Listener, ServerMetrics, ServerSettings};

/// A service listener run by redline, from [`crate::Telemetry::serve`].
/// Dropping it stops the listener at once; [`Server::shutdown`] drains.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut config = redline::Config::default();
/// config.shutdown_delay = std::time::Duration::ZERO;
/// let telemetry = redline::Telemetry::builder().config(config).build().unwrap();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let server = telemetry.serve(listener, axum::Router::new()).unwrap();
/// let addr = server.local_addr();
/// server.shutdown().await;
/// assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "stopped");
/// # });
/// ```
#[must_use = "dropping the server stops it"]
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    shutdown: Shutdown,
}

/// What a server's shutdown needs: the readiness to fail, and how long to
/// wait before and after it stops accepting (`REDLINE_SHUTDOWN_*`).
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    pub(crate) health: crate::health::HealthRegistry,
    pub(crate) delay: std::time::Duration,
    pub(crate) grace: std::time::Duration,
}

impl Server {
    pub(crate) fn start(
        settings: ServerSettings,
        shutdown: Shutdown,
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let task = serve_until(listener, router, stopped, settings);
        Ok(Self {
            addr,
            stop,
            task: Some(task),
            shutdown,
        })
    }

    /// The address the server listens on (useful with port 0).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let server = telemetry.serve(listener, axum::Router::new()).unwrap();
    /// assert_ne!(server.local_addr().port(), 0);
    /// # });
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Graceful shutdown (see the [module docs](self)): `/ready` fails for
    /// `REDLINE_SHUTDOWN_DELAY` while requests are still served, then the
    /// listener stops accepting and in-flight requests get up to
    /// `REDLINE_SHUTDOWN_GRACE` to finish.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut config = redline::Config::default();
    /// config.shutdown_delay = std::time::Duration::from_millis(10);
    /// let telemetry = redline::Telemetry::builder().config(config).build().unwrap();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let server = telemetry.serve(listener, axum::Router::new()).unwrap();
    /// server.shutdown().await;
    /// assert!(telemetry.health().is_draining(), "/ready answers 503");
    /// # });
    /// ```
    pub async fn shutdown(mut self) {
        let (delay, grace) = (self.shutdown.delay, self.shutdown.grace);
        self.shutdown.health.begin_drain();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what Kubernetes and
/// `docker stop` send).
///
/// ```no_run
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// redline::shutdown_signal().await;
/// # });
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}
