//! The server span's sampling decision, taken before the SDK is involved.
//!
//! Why: building an unsampled span through the SDK (span builder, sampler,
//! tracer, a span object to drop) was ~600 of the ~1,600 instructions that
//! trace context added to an unsampled request (callgrind, `TRACES=local`).
//! So the layer decides first, with the SDK's own rules mirrored here:
//! - parent-based samplers follow a valid parent's sampled flag;
//! - otherwise `always_on` / `always_off`, or the trace-id ratio rule of
//!   `opentelemetry_sdk` 0.33 (`sample_based_on_probability`: the low 63
//!   bits of the trace id's last 8 bytes against `ratio × 2^63`), applied to
//!   the parent's trace id or to the new one, so services sampling by ratio
//!   agree on a trace.
//!
//! An unsampled request gets a non-recording span context with fresh ids
//! and no SDK span. A sampled one is recorded by redline itself
//! (`crate::traces::record`), not by the SDK either.

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

use super::SamplerConfig;

/// How new traces (no valid parent, or a sampler that ignores parents) are
/// decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Root {
    Always,
    Never,
    /// Sampled when `(low 8 bytes of the trace id) >> 1` is below this.
    Ratio(u64),
}

/// The decision rules of one configured sampler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decider {
    pub(crate) parent_based: bool,
    pub(crate) root: Root,
    /// Requests the rules leave out are decided again when their response
    /// starts (`REDLINE_TRACES_KEEP_ERRORS`, `REDLINE_TRACES_SLOW_THRESHOLD`).
    pub(crate) tail: Option<Tail>,
}

/// What the end of a request can still decide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tail {
    pub(crate) keep_errors: bool,
    /// Nanoseconds; `u64::MAX` when off.
    pub(crate) slow_nanos: u64,
}

/// The decision taken when a request arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// Recorded and exported: the caller's `traceparent` said sampled.
    Parent,
    /// Recorded and exported: the sampler's rule (always on, or the ratio).
    Ratio,
    /// Recorded, exported only if the request fails or is slow.
    Tentative,
    /// Not recorded.
    Drop,
}

impl Head {
    /// The `sampling.reason` of a span kept at its start.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Head::Parent => "parent",
            _ => "ratio",
        }
    }
}

impl Decider {
    /// The rules of `config`; `exporting == false` (local mode) never samples.
    #[cfg(test)]
    pub(crate) fn new(config: SamplerConfig, exporting: bool) -> Self {
        Self::with_tail(config, exporting, false, None)
    }

    /// The rules of `config`, with what the end of a request may keep.
    pub(crate) fn with_tail(
        config: SamplerConfig,
        exporting: bool,
        keep_errors: bool,
        slow: Option<std::time::Duration>,
    ) -> Self {
        if !exporting {
            return Self {
                parent_based: false,
                root: Root::Never,
                tail: None,
            };
        }
        let ratio = |r: f64| {
            if r >= 1.0 {
                Root::Always
            } else {
                // As the SDK computes it (see the module docs).
                Root::Ratio((r.max(0.0) * (1u64 << 63) as f64) as u64)
            }
        };
        let (parent_based, root) = match config {
            SamplerConfig::AlwaysOn => (false, Root::Always),
            SamplerConfig::AlwaysOff => (false, Root::Never),
            SamplerConfig::TraceIdRatio(r) => (false, ratio(r)),
            SamplerConfig::ParentBasedAlwaysOn => (true, Root::Always),
            SamplerConfig::ParentBasedAlwaysOff => (true, Root::Never),
            SamplerConfig::ParentBasedTraceIdRatio(r) => (true, ratio(r)),
        };
        let tail = (keep_errors || slow.is_some()).then(|| Tail {
            keep_errors,
            slow_nanos: slow.map_or(u64::MAX, |d| d.as_nanos().min(u64::MAX as u128) as u64),
        });
        Self {
            parent_based,
            root,
            tail,
        }
    }

    /// Whether a span with `parent` and trace id `trace_id` is sampled at
    /// its start.
    #[cfg(test)]
    pub(crate) fn sampled(&self, parent: &SpanContext, trace_id: TraceId) -> bool {
        matches!(self.head(parent, trace_id), Head::Parent | Head::Ratio)
    }

    /// The decision at a request's start. A caller's sampled flag is
    /// followed both ways by parent-based samplers (the end of the request
    /// does not overrule it); what the root rule leaves out is tentative
    /// when end-of-request rules are configured.
    #[inline]
    pub(crate) fn head(&self, parent: &SpanContext, trace_id: TraceId) -> Head {
        if self.parent_based && parent.is_valid() {
            return if parent.is_sampled() {
                Head::Parent
            } else {
                Head::Drop
            };
        }
        let kept = match self.root {
            Root::Always => true,
            Root::Never => false,
            Root::Ratio(bound) => {
                let bytes = trace_id.to_bytes();
                let low = u64::from_be_bytes([
                    bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14],
                    bytes[15],
                ]);
                (low >> 1) < bound
            }
        };
        match (kept, self.tail) {
            (true, _) => Head::Ratio,
            (false, Some(_)) => Head::Tentative,
            (false, None) => Head::Drop,
        }
    }
}

/// New random ids (the SDK's generator: a thread-local `SmallRng`).
#[inline]
pub(crate) fn new_trace_id() -> TraceId {
    RandomIdGenerator::default().new_trace_id()
}

/// See [`new_trace_id`].
#[inline]
pub(crate) fn new_span_id() -> SpanId {
    RandomIdGenerator::default().new_span_id()
}

/// A random `u64` from the same generator (for sampling coins elsewhere,
/// such as the access log's).
#[inline]
pub(crate) fn random_u64() -> u64 {
    u64::from_be_bytes(new_span_id().to_bytes())
}

/// A non-recording span context for an unsampled request: the parent's
/// trace id (or `trace_id` for a new trace), a new span id, flags 00.
#[inline]
pub(crate) fn unsampled_context(
    parent: Context,
    parent_sc: &SpanContext,
    trace_id: TraceId,
) -> Context {
    let sc = SpanContext::new(
        trace_id,
        new_span_id(),
        TraceFlags::default(),
        false,
        parent_sc.trace_state().clone(),
    );
    parent.with_remote_span_context(sc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanKind, TraceState};
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

    fn sdk_decision(sampler: &Sampler, parent: &Context, trace_id: TraceId) -> bool {
        let r = sampler.should_sample(Some(parent), trace_id, "x", &SpanKind::Server, &[], &[]);
        r.decision == SamplingDecision::RecordAndSample
    }

    fn sdk_sampler(config: SamplerConfig) -> Sampler {
        super::super::sampler(config)
    }

    /// Our decision equals the SDK's for every sampler, with and without a
    /// (sampled or unsampled) parent, over many trace ids.
    #[test]
    fn mirrors_the_sdk_sampler() {
        let configs = [
            SamplerConfig::AlwaysOn,
            SamplerConfig::AlwaysOff,
            SamplerConfig::TraceIdRatio(0.1),
            SamplerConfig::TraceIdRatio(0.5),
            SamplerConfig::TraceIdRatio(0.0),
            SamplerConfig::ParentBasedAlwaysOn,
            SamplerConfig::ParentBasedAlwaysOff,
            SamplerConfig::ParentBasedTraceIdRatio(0.1),
            SamplerConfig::ParentBasedTraceIdRatio(0.9),
        ];
        for config in configs {
            let ours = Decider::new(config, true);
            let sdk = sdk_sampler(config);
            let mut sampled = 0;
            for i in 0..4000u32 {
                let trace_id = new_trace_id();
                let parent = match i % 3 {
                    0 => Context::new(),
                    flag => Context::new().with_remote_span_context(SpanContext::new(
                        trace_id,
                        new_span_id(),
                        if flag == 1 {
                            TraceFlags::SAMPLED
                        } else {
                            TraceFlags::default()
                        },
                        true,
                        TraceState::default(),
                    )),
                };
                let sc = parent.span().span_context().clone();
                let expected = sdk_decision(&sdk, &parent, trace_id);
                assert_eq!(
                    ours.sampled(&sc, trace_id),
                    expected,
                    "{config:?} parent {i}"
                );
                sampled += expected as u32;
            }
            if config == SamplerConfig::TraceIdRatio(0.1) {
                assert!(
                    (300..500).contains(&sampled),
                    "about 10% of 4000: {sampled}"
                );
            }
        }
    }

    #[test]
    fn local_mode_never_samples() {
        let d = Decider::new(SamplerConfig::AlwaysOn, false);
        let parent = SpanContext::new(
            new_trace_id(),
            new_span_id(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        assert!(!d.sampled(&parent, new_trace_id()));
    }

    #[test]
    fn end_of_request_rules_make_left_out_roots_tentative() {
        let d = Decider::with_tail(
            SamplerConfig::ParentBasedTraceIdRatio(0.0),
            true,
            true,
            Some(std::time::Duration::from_millis(250)),
        );
        assert_eq!(
            d.tail,
            Some(Tail {
                keep_errors: true,
                slow_nanos: 250_000_000
            })
        );
        let none = SpanContext::empty_context();
        assert_eq!(d.head(&none, new_trace_id()), Head::Tentative);
        let parent = |flags| {
            SpanContext::new(
                new_trace_id(),
                new_span_id(),
                flags,
                true,
                TraceState::default(),
            )
        };
        // A caller's decision is followed both ways.
        assert_eq!(
            d.head(&parent(TraceFlags::SAMPLED), new_trace_id()),
            Head::Parent
        );
        assert_eq!(
            d.head(&parent(TraceFlags::default()), new_trace_id()),
            Head::Drop
        );
        // Without end-of-request rules, left out is left out.
        let plain = Decider::new(SamplerConfig::TraceIdRatio(0.0), true);
        assert_eq!(plain.head(&none, new_trace_id()), Head::Drop);
        let always = Decider::with_tail(SamplerConfig::AlwaysOn, true, true, None);
        assert_eq!(always.head(&none, new_trace_id()), Head::Ratio);
        // Local mode never records.
        let local = Decider::with_tail(SamplerConfig::AlwaysOn, false, true, None);
        assert_eq!(local.head(&none, new_trace_id()), Head::Drop);
    }
}
