//! The principals in force, and the thread that re-reads the principals
//! file while the service runs.
//!
//! The file is read again about every second. A new set replaces the old
//! one at once (counted as `redline_admin_principals_reloads_total{result="ok"}`);
//! a file that cannot be used keeps the previous set, logs one error per
//! distinct failure on `redline::admin` and counts `result="error"` once per
//! distinct failure. The thread ends when the [`Watcher`] (kept by the
//! `Telemetry`) is dropped.

use std::sync::Arc;

use arc_swap::ArcSwap;
use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

use super::Principal;

/// The principals in force, with their metrics. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Principals {
    current: Arc<ArcSwap<Vec<Principal>>>,
    loaded: IntGauge,
    #[cfg_attr(not(feature = "config-file"), allow(dead_code))]
    reloads: IntCounterVec,
}

impl Principals {
    /// Registers `redline_admin_principals` and
    /// `redline_admin_principals_reloads_total` in `registry`, with
    /// `initial` in force.
    pub(crate) fn register(
        registry: &Registry,
        initial: Vec<Principal>,
    ) -> prometheus::Result<Self> {
        let loaded = IntGauge::new(
            "redline_admin_principals",
            "Admin principals in force (REDLINE_ADMIN_TOKEN's included).",
        )?;
        let reloads = IntCounterVec::new(
            Opts::new(
                "redline_admin_principals_reloads_total",
                "Changes of the admin principals file applied (ok) or refused (error, the previous principals kept).",
            ),
            &["result"],
        )?;
        for result in ["ok", "error"] {
            reloads.with_label_values(&[result]);
        }
        registry.register(Box::new(loaded.clone()))?;
        registry.register(Box::new(reloads.clone()))?;
        let principals = Self {
            current: Arc::new(ArcSwap::from_pointee(Vec::new())),
            loaded,
            reloads,
        };
        principals.replace(initial);
        Ok(principals)
    }

    /// The principals in force now.
    pub(crate) fn snapshot(&self) -> Arc<Vec<Principal>> {
        self.current.load_full()
    }

    fn replace(&self, principals: Vec<Principal>) {
        self.loaded
            .set(i64::try_from(principals.len()).unwrap_or(i64::MAX));
        self.current.store(Arc::new(principals));
    }
}

impl std::fmt::Debug for Principals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principals")
            .field("count", &self.current.load().len())
            .finish()
    }
}

/// Stops the re-reading thread when dropped.
#[cfg(feature = "config-file")]
#[derive(Debug)]
pub(crate) struct Watcher {
    _stop: std::sync::mpsc::Sender<()>,
}

/// How often the file is read again.
#[cfg(feature = "config-file")]
const POLL: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(feature = "config-file")]
impl Watcher {
    /// Re-reads `file` about every second into `principals` (which holds
    /// what was read at start), beside `admin_token`'s principal. `None` if the thread cannot be started
    /// (logged; the principals read at start stay in force).
    pub(crate) fn start(
        file: &super::PrincipalsFile,
        admin_token: Option<crate::admin::AdminToken>,
        principals: Principals,
    ) -> Option<Self> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let variable = file.variable().to_owned();
        let path = file.path().to_owned();
        let mut last: Result<Vec<Principal>, String> = Ok(principals.snapshot().to_vec());
        let poll = move || {
            let read = super::parse::load(&variable, &path)
                .and_then(|found| super::combine(&variable, &path, admin_token.as_ref(), &found))
                .map_err(|e| e.to_string());
            if read == last {
                return;
            }
            match &read {
                Ok(all) => {
                    principals.replace(all.clone());
                    principals.reloads.with_label_values(&["ok"]).inc();
                    tracing::info!(
                        target: "redline::admin",
                        principals = all.len(),
                        "admin principals file reloaded"
                    );
                }
                Err(error) => {
                    principals.reloads.with_label_values(&["error"]).inc();
                    tracing::error!(
                        target: "redline::admin",
                        error = error.as_str(),
                        "admin principals file not reloaded: the previous principals stay in force"
                    );
                }
            }
            last = read;
        };
        let spawned = std::thread::Builder::new()
            .name("redline-principals".into())
            .spawn(move || {
                let mut poll = poll;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(POLL)
                {
                    poll();
                }
            });
        match spawned {
            Ok(_) => Some(Self { _stop: stop }),
            Err(e) => {
                tracing::error!(
                    target: "redline::admin",
                    error = %e,
                    "cannot start the thread that reloads the admin principals file"
                );
                None
            }
        }
    }
}
