//! The thread that keeps the archives of one log file.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::Archives;

/// The archive keeper of one log file, a thread (`redline-log-archive`)
/// that compresses what rotations leave pending and applies retention: at
/// each rotation and every minute (age moves on). It stops when the
/// `Keeper` is dropped (with the last handle on the file); what is still
/// pending then is finished at the next start.
pub(crate) struct Keeper {
    wake: std::sync::mpsc::SyncSender<()>,
}

impl Keeper {
    /// Starts the thread; its first round finishes what an earlier run left
    /// pending.
    pub(crate) fn start(archives: Arc<Archives>) -> io::Result<Self> {
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("redline-log-archive".into())
            .spawn(move || {
                loop {
                    archives.round();
                    match woken.recv_timeout(Duration::from_secs(60)) {
                        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })?;
        Ok(Self { wake })
    }

    /// Asks for a round (never blocks: one wake-up pending is enough).
    pub(crate) fn wake(&self) {
        let _ = self.wake.try_send(());
    }
}
