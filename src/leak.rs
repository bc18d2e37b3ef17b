//! The `'static` lifetime for hot-path storage. A leaf: the metrics, the
//! HTTP layer and the trace pipeline all use it without importing each
//! other.

/// Moves hot-path metric storage to the `'static` lifetime.
///
/// Why: with two cores serving one route, cloning and dropping an `Arc` per
/// request (both cores writing its reference count) cost about 110 ns per
/// request in `benches/layer.rs`, more than everything else the layer does
/// on one core. With `'static` storage, handles are plain references and the
/// hot path writes only to per-core shards. The price: the storage of each
/// [`crate::Telemetry`] lives until the process exits, like a global
/// recorder in the `metrics` crate. Build one `Telemetry` per process; a
/// warning is printed if a process builds more than 100.
pub(crate) fn leak<T>(value: T) -> &'static T {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static LEAKED: AtomicUsize = AtomicUsize::new(0);
    // Two stores (HTTP and operations) per Telemetry.
    if LEAKED.fetch_add(1, Ordering::Relaxed) == 200 {
        eprintln!(
            "redline: more than 100 Telemetry instances built in this process; \
             each keeps its metric storage until exit, so build one and share it"
        );
    }
    Box::leak(Box::new(value))
}
