//! The media handler's cache: the analysis of a body (its type and
//! checksum) kept by the body's hash, at most [`MEDIA_CACHE_ENTRIES`]
//! entries, the oldest evicted first, with its hits, misses, evictions,
//! size and load time in redline's cache metrics.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// Most media analyses kept (each holds a 16-character checksum: a few
/// hundred bytes per entry, under 100 KiB in all).
pub const MEDIA_CACHE_ENTRIES: usize = 256;

/// Result of the media handler.
///
/// ```
/// # let t = redline::Telemetry::builder().build().unwrap();
/// # let bot = redline_demo::Bot::new(&t.operations());
/// let info: redline_demo::MediaInfo = bot.media(b"%PDF-1.7").unwrap();
/// assert_eq!(info.bytes, 8);
/// assert_eq!(info.kind, "application/pdf");
/// assert_eq!(info.checksum.len(), 16);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Bytes received.
    pub bytes: usize,
    /// Detected type from the magic bytes.
    pub kind: &'static str,
    /// FNV-1a checksum, hex.
    pub checksum: String,
}

/// The media handler's analysis of a non-empty body: its type from the
/// magic bytes and its FNV-1a checksum (a byte at a time: the work the cache
/// saves).
pub(crate) fn analyze(body: &[u8]) -> MediaInfo {
    let kind = match body {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        _ => "application/octet-stream",
    };
    let checksum = body.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    });
    MediaInfo {
        bytes: body.len(),
        kind,
        checksum: format!("{checksum:016x}"),
    }
}

/// A bounded cache of media analyses.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let cache = redline_demo::MediaCache::new(t.caches().cache("media_info"));
/// let body = b"GIF89a....";
/// let first = cache.get_or_load(body, || redline_demo::MediaInfo { bytes: 10, kind: "image/gif", checksum: "0".repeat(16) });
/// let again = cache.get_or_load(body, || unreachable!("a hit"));
/// assert_eq!(first, again);
/// assert!(t.render_metrics().contains(r#"redline_cache_requests_total{cache="media_info",result="hit"} 1"#));
/// ```
#[derive(Debug)]
pub struct MediaCache {
    state: Mutex<State>,
    /// Keyed per process: a client cannot aim collisions at it.
    hasher: RandomState,
    metrics: redline::metrics::Cache,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<u64, MediaInfo>,
    /// Keys, oldest first.
    order: VecDeque<u64>,
}

impl MediaCache {
    /// An empty cache reporting to `metrics`.
    pub fn new(metrics: redline::metrics::Cache) -> Self {
        metrics.set_entries(0);
        Self {
            state: Mutex::default(),
            hasher: RandomState::new(),
            metrics,
        }
    }

    /// The analysis of `body`: kept, or made by `load` (timed as the
    /// cache's load) and kept.
    pub fn get_or_load(&self, body: &[u8], load: impl FnOnce() -> MediaInfo) -> MediaInfo {
        let key = self.hasher.hash_one(body);
        if let Some(info) = self.lock().entries.get(&key) {
            self.metrics.hit();
            return info.clone();
        }
        let info = self.metrics.load(load);
        let mut state = self.lock();
        if state.entries.insert(key, info.clone()).is_none() {
            state.order.push_back(key);
        }
        let mut evicted = 0;
        while state.order.len() > MEDIA_CACHE_ENTRIES {
            if let Some(oldest) = state.order.pop_front() {
                state.entries.remove(&oldest);
                evicted += 1;
            }
        }
        let held = state.entries.len();
        drop(state);
        if evicted > 0 {
            self.metrics.evicted(evicted);
        }
        self.metrics.set_entries(held);
        info
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_evicts_the_oldest() {
        let t = redline::Telemetry::builder().build().unwrap();
        let cache = MediaCache::new(t.caches().cache("media_info"));
        let info = |n: usize| MediaInfo {
            bytes: n,
            kind: "application/octet-stream",
            checksum: format!("{n:016x}"),
        };
        for n in 0..MEDIA_CACHE_ENTRIES + 10 {
            cache.get_or_load(&n.to_le_bytes(), || info(n));
        }
        assert_eq!(cache.lock().entries.len(), MEDIA_CACHE_ENTRIES);
        // The oldest went, the newest stayed.
        cache.get_or_load(&(MEDIA_CACHE_ENTRIES + 9).to_le_bytes(), || unreachable!());
        let text = t.render_metrics();
        assert!(
            text.contains(r#"redline_cache_evictions_total{cache="media_info"} 10"#),
            "{text}"
        );
        assert!(
            text.contains(r#"redline_cache_entries{cache="media_info"} 256"#),
            "{text}"
        );
        assert!(
            text.contains(r#"redline_cache_requests_total{cache="media_info",result="hit"} 1"#)
        );
    }
}
