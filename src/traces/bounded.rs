//! A flush or shutdown of an OpenTelemetry pipeline, bounded in time
//! whatever the SDK and its exporter do (shared by the span pipeline and
//! the OTLP log pipeline).

use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::ShutdownOutcome;

/// Runs `op` on `provider` in a thread of its own and waits at most
/// `timeout` (and a little more) for it. Why a thread: the SDK bounds its
/// own wait, but an exporter stuck in a blocking call (a collector that
/// accepts and never answers) has hung shutdown upstream before; this
/// bound holds whatever the SDK does.
pub(crate) fn run_bounded<P: Send + 'static>(
    provider: P,
    timeout: Duration,
    op: impl FnOnce(&P, Duration) -> OTelSdkResult + Send + 'static,
) -> ShutdownOutcome {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("redline-otlp-shutdown".into())
        .spawn(move || {
            let _ = tx.send(op(&provider, timeout));
        });
    if spawned.is_err() {
        return ShutdownOutcome::Failed;
    }
    // A little more than the SDK's own bound, so its answer wins when it
    // keeps its word.
    match rx.recv_timeout(timeout + Duration::from_millis(250)) {
        Ok(Ok(())) => ShutdownOutcome::Flushed,
        Ok(Err(OTelSdkError::AlreadyShutdown)) => ShutdownOutcome::NothingToFlush,
        Ok(Err(OTelSdkError::Timeout(_))) | Err(_) => ShutdownOutcome::TimedOut,
        Ok(Err(_)) => ShutdownOutcome::Failed,
    }
}
