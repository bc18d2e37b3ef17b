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
//! and no SDK span. A sampled one is built by the SDK; two thread-local
//! cells make the SDK keep the decision and the trace id already drawn: the
//! [`PresetIds`] id generator hands out the preset trace id, and
//! [`HonorDecision`] answers "record" when told to. Both are set right
//! before the SDK call and cleared right after it, on the same thread.

use std::cell::Cell;

use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, SamplingResult, ShouldSample,
};

use super::SamplerConfig;

thread_local! {
    static PRESET_TRACE_ID: Cell<Option<u128>> = const { Cell::new(None) };
    static FORCE_RECORD: Cell<bool> = const { Cell::new(false) };
}

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
}

impl Decider {
    /// The rules of `config`; `exporting == false` (local mode) never samples.
    pub(crate) fn new(config: SamplerConfig, exporting: bool) -> Self {
        if !exporting {
            return Self {
                parent_based: false,
                root: Root::Never,
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
        Self { parent_based, root }
    }

    /// Whether a span with `parent` and trace id `trace_id` is sampled.
    #[inline]
    pub(crate) fn sampled(&self, parent: &SpanContext, trace_id: TraceId) -> bool {
        if self.parent_based && parent.is_valid() {
            return parent.is_sampled();
        }
        match self.root {
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

/// Runs `build` (an SDK span start) with the decision "record" and, for a
/// new trace, `trace_id` preset for the SDK to take.
#[inline]
pub(crate) fn build_sampled<T>(trace_id: TraceId, build: impl FnOnce() -> T) -> T {
    PRESET_TRACE_ID.with(|c| c.set(Some(u128::from_be_bytes(trace_id.to_bytes()))));
    FORCE_RECORD.with(|c| c.set(true));
    let built = build();
    // Cleared even if the SDK returned early without asking (provider shut
    // down), so no later span on this thread inherits them.
    PRESET_TRACE_ID.with(|c| c.set(None));
    FORCE_RECORD.with(|c| c.set(false));
    built
}

/// The SDK's id generator, honoring a preset trace id.
#[derive(Debug, Default)]
pub(crate) struct PresetIds;

impl IdGenerator for PresetIds {
    fn new_trace_id(&self) -> TraceId {
        match PRESET_TRACE_ID.with(Cell::take) {
            Some(id) => TraceId::from(id),
            None => new_trace_id(),
        }
    }

    fn new_span_id(&self) -> SpanId {
        new_span_id()
    }
}

/// The SDK's sampler: the configured one, except for a server span the
/// layer already decided to record.
#[derive(Debug, Clone)]
pub(crate) struct HonorDecision(pub(crate) Sampler);

impl ShouldSample for HonorDecision {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if FORCE_RECORD.with(|c| c.replace(false)) {
            let trace_state = parent_context
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default();
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state,
            };
        }
        self.0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceState;

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
    fn presets_are_used_once_and_cleared() {
        let ids = PresetIds;
        let sampler = HonorDecision(Sampler::AlwaysOff);
        let preset = TraceId::from(42u128);
        let (id, forced) = build_sampled(preset, || {
            let id = ids.new_trace_id();
            let r = sampler.should_sample(None, id, "x", &SpanKind::Server, &[], &[]);
            (id, r.decision)
        });
        assert_eq!(id, preset);
        assert_eq!(forced, SamplingDecision::RecordAndSample);
        // Afterwards: random ids, and the configured sampler again.
        assert_ne!(ids.new_trace_id(), preset);
        let r = sampler.should_sample(None, preset, "x", &SpanKind::Server, &[], &[]);
        assert_eq!(r.decision, SamplingDecision::Drop);
        // Cleared even when the build never asked.
        build_sampled(preset, || ());
        assert_ne!(ids.new_trace_id(), preset);
    }
}
