//! The accept loop of the servers redline runs: the admin listener
//! ([`crate::Telemetry::serve_admin`]) and service listeners
//! ([`crate::Telemetry::serve`]). One accept loop,
//! [`serve_until`], hardened against clients that hold connections:
//!
//! - **Slow heads** (HTTP/1): hyper's `header_read_timeout`
//!   ([`HardeningConfig::header_read_timeout`]). hyper starts it whenever it
//!   waits for a head, so it also closes idle HTTP/1 keep-alive connections.
//! - **Idle connections** (every protocol): a connection with no request in
//!   flight that has not started one for the header-read timeout is closed:
//!   graceful shutdown first (HTTP/2 `GOAWAY`), then dropped if it is still
//!   open [`CLOSE_GRACE`] later and still has nothing in flight. This covers
//!   what hyper's own timeout does not: a client that sends nothing at all
//!   (hyper-util is still sniffing the protocol), an idle HTTP/2
//!   prior-knowledge (h2c) connection, and a `HEADERS` frame without
//!   `END_HEADERS` followed by a trickle of `CONTINUATION` frames (the
//!   request never reaches the service). A request counts as in flight from
//!   the moment hyper hands it to the router until its response body has
//!   been sent or dropped, so a slow upload or a long response is never cut
//!   by this rule (the request timeout bounds those).
//! - **HTTP/2 limits**: keep-alive pings every header-read timeout (a peer
//!   that does not answer within [`H2_KEEP_ALIVE_TIMEOUT`] is dropped),
//!   [`H2_MAX_CONCURRENT_STREAMS`] streams per connection, at most
//!   [`H2_MAX_PENDING_ACCEPT_RESET_STREAMS`] streams reset before being
//!   accepted (rapid reset), request heads of at most
//!   [`H2_MAX_HEADER_LIST_SIZE`] bytes (431 beyond).
//! - **A connection cap per listener** ([`HardeningConfig::max_connections`],
//!   defaults in [`connection_caps`]). At the cap, a new connection first
//!   evicts the listener's longest-idle connection with no request in flight
//!   (as nginx reuses idle keep-alive connections); when every connection
//!   is busy the new one is accepted and closed at once. Keeping the open
//!   descriptors below the process limit is what keeps `accept` working: a
//!   listener that hits `EMFILE` cannot even refuse politely.
//! - **Accept errors** (`EMFILE`, `ENFILE`…) are counted and back off
//!   briefly (10 ms, doubling to 200 ms); on running out of descriptors the
//!   listener also evicts one idle connection to free one.
//!
//! Metrics (registered in the [`crate::Telemetry`]'s registry; label
//! `listener` is `admin` or `api`): `redline_server_connections`,
//! `redline_server_connections_closed_total{reason}` (`idle_timeout`,
//! `evicted`, `refused_over_cap`), `redline_server_accept_errors_total`.
//!
//! One concern kept whole (just over 500 lines): the accept loop and the
//! connection table it evicts from; per-listener settings and metrics are
//! in `settings.rs`.
//!
//! [`HardeningConfig::header_read_timeout`]: crate::security::HardeningConfig::header_read_timeout
//! [`HardeningConfig::max_connections`]: crate::security::HardeningConfig::max_connections

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use prometheus::IntGauge;

use super::settings::ServerSettings;

/// How long a connection closed for idleness (or at shutdown) may take to
/// finish on its own after its graceful shutdown began (HTTP/2: `GOAWAY`,
/// then a ping the client should answer) before it is dropped.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// HTTP/2: a keep-alive ping unanswered for this long closes the connection.
pub(crate) const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// HTTP/2: concurrent streams per connection (hyper's default is 200; a
/// browser opens at most about 100).
pub(crate) const H2_MAX_CONCURRENT_STREAMS: u32 = 100;
/// HTTP/2: streams reset by the client before the server accepted them
/// (the rapid-reset attack, CVE-2023-44487); the h2 crate's default.
pub(crate) const H2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// HTTP/2: largest request head (decoded header list), hyper's default
/// 16 KiB, stated here; it also bounds how much a `CONTINUATION` flood can
/// buffer.
pub(crate) const H2_MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;
/// Longest the listener waits for an evicted connection to close.
const EVICTION_WAIT: Duration = Duration::from_millis(100);
/// First and longest pause after a failed `accept`.
const ACCEPT_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_millis(200));
/// What one connection does, shared between its task, its requests and
/// the listener's table.
struct Activity {
    /// Requests handed to the service whose response body is not done.
    in_flight: AtomicUsize,
    /// When the connection last became idle (accepted, or its last request
    /// finished), in microseconds since the table's epoch.
    idle_since: AtomicU64,
    /// Notified when the listener evicts it.
    evict: Notify,
    /// Notified when its task has ended (the socket is closed).
    closed: Notify,
}

/// The open connections of one listener.
struct Table {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
}

/// What to do with a new connection.
enum Admission {
    Accept(u64, Arc<Activity>),
    /// Accept, once the evicted connection (the last field) has closed.
    AcceptEvicting(u64, Arc<Activity>, Arc<Activity>),
    Refuse,
}

impl Table {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        // A panic while holding it cannot leave the map inconsistent.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a new connection under `cap`, evicting the longest-idle one
    /// with nothing in flight when full.
    fn admit(&self, cap: usize) -> Admission {
        let mut open = self.lock();
        let mut evicted = None;
        if open.len() >= cap {
            let Some(victim) = Self::evict_idlest(&mut open) else {
                return Admission::Refuse;
            };
            evicted = Some(victim);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now_us()),
            evict: Notify::new(),
            closed: Notify::new(),
        });
        open.insert(id, activity.clone());
        match evicted {
            Some(victim) => Admission::AcceptEvicting(id, activity, victim),
            None => Admission::Accept(id, activity),
        }
    }

    /// Evicts one idle connection (out of descriptors), if there is one.
    fn evict_one(&self) -> Option<Arc<Activity>> {
        Self::evict_idlest(&mut self.lock())
    }

    fn evict_idlest(open: &mut HashMap<u64, Arc<Activity>>) -> Option<Arc<Activity>> {
        let idlest = open
            .iter()
            .filter(|(_, a)| a.in_flight.load(Ordering::SeqCst) == 0)
            // The older connection on a tie.
            .min_by_key(|(id, a)| (a.idle_since.load(Ordering::SeqCst), **id))
            .map(|(id, _)| *id);
        let victim = idlest.and_then(|id| open.remove(&id))?;
        // Out of the table at once; the listener waits (briefly) for it to
        // close before serving the newcomer.
        victim.evict.notify_one();
        Some(victim)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// One request in flight on a connection: counted from the moment hyper
/// hands it to the router until its response body ends or is dropped.
struct InFlight {
    activity: Arc<Activity>,
    table: Arc<Table>,
}

impl InFlight {
    fn begin(activity: &Arc<Activity>, table: &Arc<Table>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Self {
            activity: activity.clone(),
            table: table.clone(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The timestamp first, so whoever sees no request in flight also
        // sees when the last one ended.
        self.activity
            .idle_since
            .store(self.table.now_us(), Ordering::SeqCst);
        self.activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that holds its request's [`InFlight`] until it ends.
struct TrackedBody {
    inner: axum::body::Body,
    in_flight: Option<InFlight>,
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.in_flight = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The router as hyper's service for one connection: the peer address as
/// axum's `ConnectInfo` (for handlers and the layer's `client.address`),
/// and each request counted in flight.
#[derive(Clone)]
struct ConnectionService {
    router: axum::Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    table: Arc<Table>,
    /// The connection is TLS: each request carries
    /// [`crate::http::SecureConnection`].
    secure: bool,
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        use tower::ServiceExt;
        let in_flight = InFlight::begin(&self.activity, &self.table);
        let mut request = request.map(axum::body::Body::new);
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        if self.secure {
            request
                .extensions_mut()
                .insert(crate::http::SecureConnection);
        }
        let response = self.router.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|inner| TrackedBody {
                inner,
                in_flight: Some(in_flight),
            }))
        })
    }
}

/// Serves `router` on `listener` until `stop` turns true (or its sender is
/// dropped), then lets in-flight requests finish (graceful shutdown); the
/// task ends when every connection has closed. See the [module
/// documentation](self) for the timeouts, limits and cap.
///
/// hyper-util's server rather than `axum::serve`, for what axum does not
/// expose: the header-read deadline, HTTP/2 settings, and control over each
/// connection.
pub(crate) fn serve_until(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
    settings: ServerSettings,
) -> JoinHandle<()> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    // Before the first connection, so a certificate change (or `SIGHUP`)
    // is seen from the start.
    #[cfg(feature = "tls")]
    if let Some(tls) = &settings.tls {
        tls.ensure_watching();
    }
    tokio::spawn(async move {
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(settings.idle_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(settings.idle_timeout)
            .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT)
            .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
            .max_pending_accept_reset_streams(H2_MAX_PENDING_ACCEPT_RESET_STREAMS)
            .max_header_list_size(H2_MAX_HEADER_LIST_SIZE);
        let builder = Arc::new(builder);
        let settings = Arc::new(settings);
        let table = Arc::new(Table::new());
        // Every connection task holds a clone; `recv` returns `None` once
        // all are gone.
        let (alive, mut all_closed) = mpsc::channel::<()>(1);
        // Connection tasks belong to this task: when it is aborted (a
        // shutdown's grace period is over), dropping the set aborts them,
        // cutting the requests still in flight.
        let mut connections = tokio::task::JoinSet::new();
        let mut failures = 0u32;
        loop {
            let (stream, peer) = tokio::select! {
                // A finished connection's task leaves the set when it ends,
                // not at the next accept: its cell holds the connection's
                // whole future (about 5 KB).
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => {
                        failures = 0;
                        accepted
                    }
                    Err(e) => {
                        settings.metrics.accept_errors.inc();
                        failures = failures.saturating_add(1);
                        if failures == 1 {
                            eprintln!("redline: {}: accept failed: {e}", settings.what);
                        }
                        // Out of descriptors: free one by closing the
                        // idlest connection, as at the cap, and try again.
                        if matches!(e.raw_os_error(), Some(23 | 24))
                            && let Some(victim) = table.evict_one()
                        {
                            settings.metrics.evicted.inc();
                            if closed_within(&victim, EVICTION_WAIT).await {
                                continue;
                            }
                        }
                        let backoff = ACCEPT_BACKOFF
                            .0
                            .saturating_mul(1 << (failures - 1).min(5))
                            .min(ACCEPT_BACKOFF.1);
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                },
                () = stopped(&mut stop) => break,
            };
            let (id, activity) = match table.admit(settings.max_connections) {
                Admission::Accept(id, activity) => (id, activity),
                Admission::AcceptEvicting(id, activity, victim) => {
                    settings.metrics.evicted.inc();
                    // Its descriptor freed first, so a flood of new
                    // connections cannot outrun the closing of old ones.
                    closed_within(&victim, EVICTION_WAIT).await;
                    (id, activity)
                }
                Admission::Refuse => {
                    // Every connection is busy: accepted and closed at once.
                    settings.metrics.refused.inc();
                    drop(stream);
                    continue;
                }
            };
            let service = ConnectionService {
                router: router.clone(),
                peer,
                activity: activity.clone(),
                table: table.clone(),
                secure: false,
            };
            let open = OpenConnection {
                id,
                activity: activity.clone(),
                table: table.clone(),
                gauge: settings.metrics.connections.clone(),
            };
            open.gauge.inc();
            // Finished connections leave the set as new ones arrive.
            while connections.try_join_next().is_some() {}
            connections.spawn(serve_stream(
                builder.clone(),
                stream,
                service,
                activity,
                settings.clone(),
                stop.clone(),
                (open, alive.clone()),
            ));
        }
        drop(listener);
        drop(alive);
        let _ = all_closed.recv().await;
    })
}

/// Waits (at most `limit`) for an evicted connection's task to end;
/// whether it did.
async fn closed_within(victim: &Activity, limit: Duration) -> bool {
    tokio::time::timeout(limit, victim.closed.notified())
        .await
        .is_ok()
}

/// Resolves when `stop` turns true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Counts a connection open until its task ends (after the socket is
/// closed: the task's parameters are dropped after its locals).
struct OpenConnection {
    id: u64,
    activity: Arc<Activity>,
    table: Arc<Table>,
    gauge: IntGauge,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.table.remove(self.id);
        self.gauge.dec();
        self.activity.closed.notify_one();
    }
}

/// Why a connection's task stopped serving it normally.
enum Close {
    Idle,
    Evicted,
    Stop,
}

type Builder = hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>;

/// Serves an accepted connection: over TLS after its handshake (within the
/// idle timeout, given up when the connection is evicted or the listener
/// stops) when the listener has TLS, else as it is.
async fn serve_stream(
    builder: Arc<Builder>,
    stream: tokio::net::TcpStream,
    #[cfg_attr(not(feature = "tls"), allow(unused_mut))] mut service: ConnectionService,
    activity: Arc<Activity>,
    settings: Arc<ServerSettings>,
    #[cfg_attr(not(feature = "tls"), allow(unused_mut))] mut stop: watch::Receiver<bool>,
    open: (OpenConnection, mpsc::Sender<()>),
) {
    #[cfg(feature = "tls")]
    if let Some(tls) = settings.tls.clone() {
        let stream = tokio::select! {
            tls = tls.accept(stream, settings.idle_timeout) => match tls {
                Some(tls) => tls,
                None => return,
            },
            () = activity.evict.notified() => return,
            () = stopped(&mut stop) => return,
        };
        service.secure = true;
        return serve_connection(builder, stream, service, activity, settings, stop, open).await;
    }
    serve_connection(builder, stream, service, activity, settings, stop, open).await;
}

async fn serve_connection<I>(
    builder: Arc<Builder>,
    stream: I,
    service: ConnectionService,
    activity: Arc<Activity>,
    settings: Arc<ServerSettings>,
    mut stop: watch::Receiver<bool>,
    _open: (OpenConnection, mpsc::Sender<()>),
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let table = service.table.clone();
    let connection =
        builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(connection);
    let timeout = settings.idle_timeout;
    let close = loop {
        // When the connection would have been idle for `timeout`; while a
        // request is in flight, look again a timeout later.
        let deadline = if activity.in_flight.load(Ordering::SeqCst) > 0 {
            Instant::now() + timeout
        } else {
            table.epoch
                + Duration::from_micros(activity.idle_since.load(Ordering::SeqCst))
                + timeout
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            () = tokio::time::sleep_until(deadline) => {
                let idle = activity.in_flight.load(Ordering::SeqCst) == 0
                    && table.now_us()
                        >= activity.idle_since.load(Ordering::SeqCst)
                            + u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
                if idle {
                    break Close::Idle;
                }
            }
            () = activity.evict.notified() => break Close::Evicted,
            () = stopped(&mut stop) => break Close::Stop,
        }
    };
    let grace = match close {
        Close::Idle => {
            settings.metrics.idle_timeout.inc();
            CLOSE_GRACE
        }
        // Counted by the listener. No wait: the point is to free the
        // descriptor now; one poll still writes HTTP/2's `GOAWAY`.
        Close::Evicted => Duration::ZERO,
        Close::Stop => CLOSE_GRACE,
    };
    connection.as_mut().graceful_shutdown();
    // Let it finish on its own within `grace`; after that drop it unless a
    // request is still in flight (one that slipped in before the shutdown
    // is served to the end). Evicted meanwhile (it is idle, and still in
    // the table): drop it now.
    let mut deadline = Instant::now() + grace;
    loop {
        let idle = || activity.in_flight.load(Ordering::SeqCst) == 0;
        tokio::select! {
            // The connection first: with no grace it is still polled once.
            biased;
            _ = connection.as_mut() => return,
            () = activity.evict.notified() => if idle() {
                return;
            },
            () = tokio::time::sleep_until(deadline) => {
                if idle() {
                    return;
                }
                deadline = Instant::now() + CLOSE_GRACE;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_the_cap_the_idlest_connection_is_evicted_and_busy_ones_are_kept() {
        let table = Arc::new(Table::new());
        let admitted = |a: Admission| match a {
            Admission::Accept(id, activity) => (id, activity),
            _ => panic!("expected a plain accept"),
        };
        let (_, first) = admitted(table.admit(2));
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (_, second) = admitted(table.admit(2));
        // Full: the first (idle longest) goes.
        let Admission::AcceptEvicting(_, third, victim) = table.admit(2) else {
            panic!("expected an eviction");
        };
        assert!(Arc::ptr_eq(&victim, &first));
        assert!(
            tokio::time::timeout(Duration::from_secs(1), first.evict.notified())
                .await
                .is_ok()
        );
        // Both left are busy: a new connection is refused.
        let busy = [
            InFlight::begin(&second, &table),
            InFlight::begin(&third, &table),
        ];
        assert!(matches!(table.admit(2), Admission::Refuse));
        assert!(table.evict_one().is_none());
        drop(busy);
        assert!(matches!(table.admit(2), Admission::AcceptEvicting(..)));
    }
}
