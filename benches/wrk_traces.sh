#!/usr/bin/env bash
# What traces cost, measured side by side: ROUNDS interleaved rounds (the
# order rotates every round), each running wrk for SECONDS_PER_RUN against
# each of five servers (examples/bench_server.rs):
#   bare          axum, GET /hello
#   metrics       redline's layer, traces disabled (OTEL_SDK_DISABLED)
#   local         redline's default: metrics + local trace context, no export
#   traces10      metrics + traces sampled at 10%, exported over OTLP/HTTP
#   traces100     metrics + every request traced and exported
# The exporting servers send to examples/otlp_sink.rs, a receiver that
# discards bodies without decoding them. Prints every round and the median
# of the paired ratios against bare. Loopback only; bounded by
# ROUNDS × 5 × SECONDS_PER_RUN.
#
#   bash benches/wrk_traces.sh              # 10 rounds of 5 s each
#   ROUNDS=4 SECONDS_PER_RUN=3 bash benches/wrk_traces.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/wrk_rounds.sh
source benches/wrk_rounds.sh
cargo build --release --example bench_server --example otlp_sink >&2
BIN=target/release/examples/bench_server
MODES=(bare metrics local traces10 traces100)
declare -A ADDR=([bare]=127.0.0.1:18191 [metrics]=127.0.0.1:18192 [local]=127.0.0.1:18193 [traces10]=127.0.0.1:18194 [traces100]=127.0.0.1:18195)
declare -A BINMODE=([bare]=bare [metrics]=metrics [local]=instrumented [traces10]=traces10 [traces100]=traces100)
SINK=127.0.0.1:14318
PIDS=()
target/release/examples/otlp_sink "$SINK" > /tmp/redline-otlp-sink.log & PIDS+=($!)
for mode in "${MODES[@]}"; do
  OTLP_SINK="http://$SINK/v1/traces" "$BIN" "${BINMODE[$mode]}" "${ADDR[$mode]}" >/dev/null & PIDS+=($!)
done
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
wait_ready
run_rounds
for m in traces10 traces100; do
  curl -sf "http://${ADDR[$m]%:*}:$(( ${ADDR[$m]##*:} + 100 ))/metrics" \
    | grep -E '^redline_trace_(spans_exported|spans_dropped|export_errors)' | sed "s/^/$m: /"
done
