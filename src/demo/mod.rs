//! The demo service: a small message-bot API, fully instrumented. It is what
//! `redline demo` (and a bare `redline`) runs, and what the integration tests
//! and benchmarks drive.
//!
//! ```no_run
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let options = redline::demo::DemoOptions::default();
//! let demo = redline::demo::Demo::start(options).await.unwrap();
//! println!("app on http://{}", demo.app_addr());
//! demo.shutdown().await;
//! # });
//! ```

mod app;
mod bot;
mod error;
mod faults;
mod load;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use app::{MAX_BODY_BYTES, router};
pub use bot::{BatchReport, Bot, BotError, MediaInfo, Message, Reply};
pub use error::ApiError;
pub use faults::{FaultError, FaultSettings, Faults, MAX_LATENCY_MS};
pub use load::LoadStats;

use crate::{Config, ShutdownGuard, Telemetry};

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Address of the API (`--listen`).
    pub listen: SocketAddr,
    /// redline's configuration; its `admin_listen` is where `/metrics` is.
    pub config: Config,
    /// Requests per second of the built-in traffic generator (0: none).
    pub load_rps: u32,
    /// Fraction of requests failed on purpose, 0 to 1.
    pub error_rate: f64,
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            config: Config::default(),
            load_rps: 0,
            error_rate: 0.0,
            latency_ms: 0,
        }
    }
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// redline itself failed to start.
    #[error(transparent)]
    Telemetry(#[from] crate::Error),
    /// A fault setting is out of range.
    #[error(transparent)]
    Faults(#[from] FaultError),
    /// The API address could not be bound.
    #[error("cannot listen on {addr} (choose another with --listen): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A running demo.
pub struct Demo {
    telemetry: Telemetry,
    faults: Faults,
    app_addr: SocketAddr,
    guard: ShutdownGuard,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    load: Option<JoinHandle<()>>,
    load_stats: Arc<LoadStats>,
}

/// How long shutdown waits for in-flight API requests.
const DRAIN: Duration = Duration::from_secs(10);

impl Demo {
    /// Builds telemetry, binds the API and admin listeners, and starts
    /// serving (and the traffic generator, if asked for).
    pub async fn start(options: DemoOptions) -> Result<Self, DemoError> {
        let mut config = options.config;
        if config.service_name == Config::default().service_name {
            config.service_name = "redline-demo".into();
        }
        let telemetry = Telemetry::builder().config(config).build()?;
        let faults = Faults::new(options.error_rate, options.latency_ms)?;
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| DemoError::Bind {
                addr: options.listen,
                source,
            })?;
        let app_addr = listener.local_addr().map_err(|source| DemoError::Bind {
            addr: options.listen,
            source,
        })?;
        let guard = telemetry.serve_admin_with(faults.router()).await?;
        let (stop, stopped) = watch::channel(false);
        let app = router(&telemetry, faults.clone());
        let server = crate::telemetry::serve_until(listener, app, stopped.clone(), "demo API");
        let load_stats = Arc::new(LoadStats::default());
        let load = (options.load_rps > 0).then(|| {
            tokio::spawn(load::run(
                app_addr,
                options.load_rps,
                load_stats.clone(),
                stopped,
            ))
        });
        Ok(Self {
            telemetry,
            faults,
            app_addr,
            guard,
            stop,
            server,
            load,
            load_stats,
        })
    }

    /// Where the API listens.
    pub fn app_addr(&self) -> SocketAddr {
        self.app_addr
    }

    /// Where the admin endpoints (`/metrics`, `/faults`) listen.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.guard.admin_addr()
    }

    /// The demo's telemetry.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The live fault settings.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// What the traffic generator has sent so far.
    pub fn load_stats(&self) -> &LoadStats {
        &self.load_stats
    }

    /// Stops the traffic generator, lets in-flight requests finish (up to
    /// 10 s), then stops the admin listener.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(load) = self.load {
            let _ = tokio::time::timeout(Duration::from_secs(2), load).await;
        }
        let mut server = self.server;
        if tokio::time::timeout(DRAIN, &mut server).await.is_err() {
            server.abort();
        }
        self.guard.shutdown().await;
    }
}

/// Resolves on SIGINT or SIGTERM.
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
        _ = ctrl_c => {}
        _ = term => {}
    }
}
