//! The listeners: the admin router and listener (`serve_admin`), and the
//! service listener (`serve`), each on redline's hardened server.

use tokio::sync::watch;

use super::{Error, ShutdownGuard, Telemetry};

impl Telemetry {
    /// The admin router (`/metrics`), to serve yourself or merge into the
    /// application's router.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let app: axum::Router = axum::Router::new().merge(t.admin_router());
    /// # let _ = app;
    /// ```
    pub fn admin_router(&self) -> axum::Router {
        crate::admin::router(&self.admin_state())
    }

    /// What the admin endpoints need of this `Telemetry`, and no more.
    fn admin_state(&self) -> crate::admin::AdminState {
        let inner = &self.inner;
        let telemetry = self.clone();
        crate::admin::AdminState::new(crate::admin::AdminParts {
            principals: inner.principals.clone(),
            metrics_auth: inner.config.metrics_auth,
            service_name: inner.config.service_name.clone(),
            logs: inner.config.logs.clone(),
            build_info: inner.build_info.clone(),
            started: inner.started,
            health: inner.health.clone(),
            security: inner.security.clone(),
            errors: inner.errors,
            log_stats: inner.log_stats.clone(),
            log_control: inner.log_control.clone(),
            tracing: inner.tracing.clone(),
            render_metrics: Box::new(move |accept| telemetry.render_for(accept)),
            redactor: inner.redactor.clone(),
            status: inner.status.clone().inspect(|status| {
                // The history starts with the first admin router.
                let recent = status.recent;
                status
                    .history
                    .start(crate::status::history::INTERVAL, move || {
                        let span = crate::status::history::SPAN.as_millis() as u64;
                        recent.expire(crate::status::history::now_ms().saturating_sub(span));
                    });
            }),
        })
    }

    /// Serves `router` on `listener` with redline's server, as the admin
    /// listener is served: `REDLINE_HEADER_READ_TIMEOUT` (slow heads and idle
    /// connections of every protocol), HTTP/2 limits, the connection cap
    /// (`REDLINE_MAX_CONNECTIONS`), and the peer address for spans. The
    /// [`Server`](crate::Server) it returns drains with
    /// `REDLINE_SHUTDOWN_DELAY` and `REDLINE_SHUTDOWN_GRACE`
    /// ([`Server::shutdown`](crate::Server::shutdown)). Pass the router
    /// through [`Telemetry::instrument`] first. Call inside a tokio runtime.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let app = telemetry.instrument(axum::Router::new());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let server = telemetry.serve(listener, app).unwrap();
    /// # drop(server);
    /// # });
    /// ```
    pub fn serve(
        &self,
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> std::io::Result<crate::Server> {
        let config = &self.inner.config;
        let settings = crate::server::ServerSettings::new(
            &config.hardening,
            &self.inner.server,
            crate::server::Listener::Api,
            "service listener",
        );
        let shutdown = crate::server::Shutdown {
            health: self.inner.health.clone(),
            delay: config.shutdown_delay,
            grace: config.shutdown_grace,
        };
        // Fails only if the listener's address cannot be read.
        crate::Server::start(settings, shutdown, listener, router)
    }

    /// Starts the admin listener on `admin_listen` (if configured) and returns
    /// the guard that stops it. Call from within a Tokio runtime.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut config = redline::Config::default();
    /// config.admin_listen = None;
    /// let t = redline::Telemetry::builder().config(config).build().unwrap();
    /// let guard = t.serve_admin().await.unwrap();
    /// assert_eq!(guard.admin_addr(), None);
    /// guard.shutdown().await;
    /// # });
    /// ```
    pub async fn serve_admin(&self) -> Result<ShutdownGuard, Error> {
        self.serve_admin_with(axum::Router::new()).await
    }

    /// Like [`Telemetry::serve_admin`], with extra routes merged into the
    /// admin router (the demo adds `/faults` this way). They need the
    /// [`Role::Operator`](crate::admin::Role::Operator) role; each call
    /// other than `GET` and `HEAD` is audited (`authz_admin`).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut config = redline::Config::default();
    /// config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// let t = redline::Telemetry::builder().config(config).build().unwrap();
    /// let extra = axum::Router::new().route("/version", axum::routing::get(|| async { "1" }));
    /// let guard = t.serve_admin_with(extra).await.unwrap();
    /// guard.shutdown().await;
    /// # });
    /// ```
    pub async fn serve_admin_with(&self, extra: axum::Router) -> Result<ShutdownGuard, Error> {
        let Some(addr) = self.inner.config.admin_listen else {
            return Ok(ShutdownGuard {
                admin_addr: None,
                stop: None,
                task: None,
                tracing: Some(self.inner.tracing.clone()),
                log_export: Some(self.inner.log_export.clone()),
            });
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let (stop, stopped) = watch::channel(false);
        let state = self.admin_state();
        let task = crate::server::serve_until(
            listener,
            // The body limit and request timeout of the API apply here too.
            crate::security::limit(
                crate::admin::router(&state).merge(crate::admin::protect(&state, extra)),
                &self.inner.config.hardening,
            ),
            stopped,
            crate::server::ServerSettings::new(
                &self.inner.config.hardening,
                &self.inner.server,
                crate::server::Listener::Admin,
                "admin listener",
            ),
        );
        Ok(ShutdownGuard {
            admin_addr: Some(local),
            stop: Some(stop),
            task: Some(task),
            tracing: Some(self.inner.tracing.clone()),
            log_export: Some(self.inner.log_export.clone()),
        })
    }
}
