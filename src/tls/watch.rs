//! Reloading a TLS listener's files: when their metadata changes (looked at
//! every second: Kubernetes swaps a mounted secret's files by renaming a
//! directory, cert-manager and certbot rewrite them) or on `SIGHUP`.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::server::ServerTls;

/// How often the files' metadata is looked at.
const POLL: Duration = Duration::from_secs(1);

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

fn stamps(tls: &ServerTls) -> [Stamp; 3] {
    let f = &tls.files;
    [
        stamp(&f.cert_file),
        stamp(&f.key_file),
        f.client_ca_file.as_deref().and_then(stamp),
    ]
}

/// Watches `tls` until it is dropped (the task holds a weak reference).
pub(super) fn spawn(tls: &Arc<ServerTls>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(tls);
    let first = stamps(tls);
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
async fn watch(weak: Weak<ServerTls>, mut last: [Stamp; 3], mut hangup: Hangup) {
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
        let now = stamps(&tls);
        if signalled || now != last {
            last = now;
            match tls.reload() {
                Ok(()) => eprintln!(
                    "redline: TLS certificate reloaded from {}",
                    tls.files.cert_file.display()
                ),
                Err(e) => {
                    eprintln!("redline: TLS certificate not reloaded, the one in use is kept: {e}")
                }
            }
        }
    }
}
