//! The demo service: a small message-bot API, fully instrumented. It is what
//! `redline demo` (and a bare `redline`) runs, and what the integration tests
//! and benchmarks drive.
//!
//! ```no_run
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let options = redline_demo::DemoOptions::default();
//! let demo = redline_demo::Demo::start(options).await.unwrap();
//! println!("app on http://{}", demo.app_addr());
//! demo.shutdown().await;
//! # });
//! ```

mod app;
mod bot;
mod command;
mod error;
mod faults;
mod load;
mod media;
mod refusal;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use app::{MAX_BODY_BYTES, router};
pub use bot::{BatchReport, Bot, GROUP_COUNT, MAX_BATCH, Message, Reply};
pub use command::{Command, MAX_COMMAND_NAME, MAX_ECHO_CHARS, parse_command, validate_text};
pub use error::ApiError;
pub use faults::{FaultError, FaultSettings, Faults, FaultsPanel, MAX_LATENCY_MS};
pub use load::LoadStats;
pub use media::{MEDIA_CACHE_ENTRIES, MediaCache, MediaInfo};
use redline::{Config, ShutdownGuard, Telemetry};
pub use refusal::{BotError, MAX_TEXT_CHARS};
pub use store::{
    CHAT_BUDGET_BYTES, CHAT_OVERHEAD_BYTES, MAX_CONVERSATIONS, MAX_HISTORY, MEMORY_BUDGET_BYTES,
    MESSAGE_OVERHEAD_BYTES, MemoryUsage,
};

/// How to run the demo.
///
/// ```
/// use redline_demo::DemoOptions;
/// assert_eq!(DemoOptions::default().listen.port(), 8080);
/// let mut options = DemoOptions {
///     listen: "127.0.0.1:0".parse().unwrap(), // any free port
///     load_rps: 20,
///     ..Default::default()
/// };
/// options.config.admin_listen = None; // no admin listener
/// ```
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
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use redline_demo::{Demo, DemoError, DemoOptions};
/// let options = DemoOptions { error_rate: 2.0, ..Default::default() };
/// let err = Demo::start(options).await.err().unwrap();
/// assert!(matches!(err, DemoError::Faults(_)));
/// # });
/// ```
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// redline itself failed to start.
    #[error(transparent)]
    Telemetry(#[from] redline::Error),
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
    /// The traffic generator speaks plain HTTP, and the API has TLS.
    #[error(
        "the traffic generator (--load) speaks plain HTTP and REDLINE_TLS_CERT_FILE puts the API on TLS: run with --load 0 and send traffic with an HTTPS client"
    )]
    LoadOverTls,
}

/// A running demo.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # use redline_demo::{Demo, DemoOptions};
/// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
/// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
/// let demo = Demo::start(options).await.unwrap();
/// assert_ne!(demo.app_addr().port(), 0);
/// assert!(demo.admin_addr().is_some());
/// demo.shutdown().await;
/// # });
/// ```
pub struct Demo {
    telemetry: Telemetry,
    faults: Faults,
    app_addr: SocketAddr,
    guard: ShutdownGuard,
    stop: watch::Sender<bool>,
    server: redline::Server,
    load: Option<JoinHandle<()>>,
    load_stats: Arc<LoadStats>,
}

impl Demo {
    /// Builds telemetry, binds the API and admin listeners, and starts
    /// serving (and the traffic generator, if asked for).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use redline_demo::{Demo, DemoOptions};
    /// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    /// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// let demo = Demo::start(options).await.unwrap();
    /// assert_eq!(demo.telemetry().config().service_name, "redline-demo");
    /// demo.shutdown().await;
    /// # });
    /// ```
    pub async fn start(options: DemoOptions) -> Result<Self, DemoError> {
        if options.load_rps > 0 && options.config.tls.is_some() {
            return Err(DemoError::LoadOverTls);
        }
        // Named `redline-demo` unless OTEL_SERVICE_NAME says otherwise.
        let build = redline::build_info!().with_service_name("redline-demo");
        let faults = Faults::new(options.error_rate, options.latency_ms)?;
        let telemetry = Telemetry::builder()
            .config(options.config)
            .build_info(build)
            .status_panel(FaultsPanel(faults.clone()))
            .build()?;
        // Beside the default process checks: the disk the demo runs on
        // (non-critical: a full disk warns, the API still serves).
        telemetry.health().register(
            "disk:free",
            redline::health::CheckOptions::readiness()
                .critical(false)
                .component("working-directory", "system"),
            redline::health::checks::disk_free(".", 0.10, 0.02),
        );
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
        let disclosure = error::Disclosure::new(&telemetry);
        let guard = telemetry
            .serve_admin_with(faults.router(disclosure))
            .await?;
        let app = router(&telemetry, faults.clone());
        let server = telemetry
            .serve(listener, app)
            .map_err(|source| DemoError::Bind {
                addr: options.listen,
                source,
            })?;
        let (stop, stopped) = watch::channel(false);
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
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use redline_demo::{Demo, DemoOptions};
    /// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    /// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// let demo = Demo::start(options).await.unwrap();
    /// let mut stream = tokio::net::TcpStream::connect(demo.app_addr()).await.unwrap();
    /// stream.write_all(b"GET /hello HTTP/1.0\r\n\r\n").await.unwrap();
    /// let mut response = String::new();
    /// stream.read_to_string(&mut response).await.unwrap();
    /// assert!(response.starts_with("HTTP/1.0 200") && response.ends_with("hello\n"));
    /// demo.shutdown().await;
    /// # });
    /// ```
    pub fn app_addr(&self) -> SocketAddr {
        self.app_addr
    }

    /// Where the admin endpoints (`/metrics`, `/health`…, and `/faults`,
    /// which needs the admin token) listen.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use redline_demo::{Demo, DemoOptions};
    /// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    /// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// options.config.admin_token = Some(redline::config::AdminToken::new("doc-example-token-0123"));
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// let demo = Demo::start(options).await.unwrap();
    /// let mut stream = tokio::net::TcpStream::connect(demo.admin_addr().unwrap()).await.unwrap();
    /// stream.write_all(b"GET /faults HTTP/1.0\r\nAuthorization: Bearer doc-example-token-0123\r\n\r\n").await.unwrap();
    /// let mut response = String::new();
    /// stream.read_to_string(&mut response).await.unwrap();
    /// assert!(response.ends_with(r#"{"error_rate":0.0,"latency_ms":0}"#));
    /// demo.shutdown().await;
    /// # });
    /// ```
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.guard.admin_addr()
    }

    /// The demo's telemetry.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use redline_demo::{Demo, DemoOptions};
    /// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    /// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// let demo = Demo::start(options).await.unwrap();
    /// demo.telemetry().operations().time("warmup", || ());
    /// assert!(demo.telemetry().render_metrics().contains(r#"operation="warmup""#));
    /// demo.shutdown().await;
    /// # });
    /// ```
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The live fault settings.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use redline_demo::{Demo, DemoOptions};
    /// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    /// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// use redline_demo::FaultSettings;
    /// let demo = Demo::start(options).await.unwrap();
    /// demo.faults().set(FaultSettings { error_rate: Some(0.1), latency_ms: None }).unwrap();
    /// assert_eq!(demo.faults().get().error_rate, Some(0.1));
    /// demo.shutdown().await;
    /// # });
    /// ```
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// What the traffic generator has sent so far.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use redline_demo::{Demo, DemoOptions};
    /// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    /// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// use std::sync::atomic::Ordering::Relaxed;
    /// options.load_rps = 100;
    /// let demo = Demo::start(options).await.unwrap();
    /// let first = tokio::time::timeout(std::time::Duration::from_secs(10), async {
    ///     while demo.load_stats().sent.load(Relaxed) == 0 {
    ///         tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    ///     }
    /// });
    /// assert!(first.await.is_ok(), "the generator answered within 10 s");
    /// demo.shutdown().await;
    /// # });
    /// ```
    pub fn load_stats(&self) -> &LoadStats {
        &self.load_stats
    }

    /// Graceful shutdown: `/ready` fails first (for
    /// `REDLINE_SHUTDOWN_DELAY`, while the API still serves), then the
    /// traffic generator and the API stop accepting and in-flight requests
    /// finish (up to `REDLINE_SHUTDOWN_GRACE`), then the admin listener
    /// stops and pending spans are flushed.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use redline_demo::{Demo, DemoOptions};
    /// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    /// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// let demo = Demo::start(options).await.unwrap();
    /// let app = demo.app_addr();
    /// demo.shutdown().await;
    /// assert!(tokio::net::TcpStream::connect(app).await.is_err(), "no longer listening");
    /// # });
    /// ```
    pub async fn shutdown(self) {
        // Readiness fails first, while everything still serves, so load
        // balancers stop sending traffic; then the server stops accepting
        // and in-flight requests finish within the grace period.
        // The traffic generator stops with the API (after the delay, while
        // `/ready` already fails, it keeps sending as clients would).
        let stop = self.stop;
        let load = self.load;
        let delay = self.telemetry.config().shutdown_delay;
        let stop_load = async move {
            tokio::time::sleep(delay).await;
            let _ = stop.send(true);
            if let Some(load) = load {
                let _ = tokio::time::timeout(Duration::from_secs(2), load).await;
            }
        };
        tokio::join!(self.server.shutdown(), stop_load);
        self.guard.shutdown().await;
    }
}

/// Resolves on SIGINT or SIGTERM.
///
/// ```no_run
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # use redline_demo::{Demo, DemoOptions};
/// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
/// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
/// let demo = Demo::start(options).await.unwrap();
/// redline_demo::shutdown_signal().await; // Ctrl-C or SIGTERM
/// demo.shutdown().await;
/// # });
/// ```
pub async fn shutdown_signal() {
    redline::shutdown_signal().await;
}
