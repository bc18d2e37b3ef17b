//! Reloading a TLS listener's files: when their metadata changes (looked at
//! every second: Kubernetes swaps a mounted secret's files by renaming a
//! directory, cert-manager and certbot rewrite them) or on `SIGHUP`.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

/// How often the files' metadata is looked at.
const POLL: Duration = Duration::from_secs(1);

/// What the watcher reloads: the TLS configuration of a listener.
pub(super) trait Reload: Send + Sync + 'static {
    /// The files to watch.
    fn files(&self) -> [Option<&std::path::Path>; 3];
    /// Reads them again, and says what happened.
    fn reload_and_report(&self);
}

/// What a file looks like from outside: a change in any part is a change.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &std::path::Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some((m.modified().ok()?, m.len(), inode))
}

fn stamps(tls: &dyn Reload) -> [Stamp; 3] {
    tls.files().map(|f| f.and_then(stamp))
}

/// Watches `tls` until it is dropped (the task holds a weak reference).
pub(super) fn spawn<T: Reload>(tls: &Arc<T>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(tls);
    let first = stamps(tls.as_ref());
    // The handler is installed before the listener serves, so a `SIGHUP`
    // from then on reloads rather than ends the process.
    #[cfg(unix)]
    let hangup = {
        let _entered = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    };
    #[cfg(not(unix))]
    let hangup = None::<()>;
    runtime.spawn(watch(weak, first, hangup));
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg_attr(not(unix), allow(unused_mut, unused_variables))]
async fn watch<T: Reload>(weak: Weak<T>, mut last: [Stamp; 3], mut hangup: Hangup) {
    loop {
        #[cfg(unix)]
        let signalled = tokio::select! {
            () = tokio::time::sleep(POLL) => false,
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => true,
        };
        #[cfg(not(unix))]
        let signalled = {
            tokio::time::sleep(POLL).await;
            false
        };
        let Some(tls) = weak.upgrade() else {
            return;
        };
        let now = stamps(tls.as_ref());
        if signalled || now != last {
            last = now;
            tls.reload_and_report();
        }
    }
}
