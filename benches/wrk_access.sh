#!/usr/bin/env bash
# What the JSON access log costs, side by side: ROUNDS interleaved rounds
# (the order rotates), each running wrk for SECONDS_PER_RUN against each of
# four servers (examples/bench_server.rs, traces disabled in all):
#   bare       axum, GET /hello
#   metrics    redline's layer, no access log
#   access     metrics + one JSON line per request (stdout → a file)
#   access10   metrics + JSON lines for 10% of successful requests
# Prints every round, the median paired ratios against bare, and what each
# logging server wrote and dropped. Loopback only; bounded by
# ROUNDS × 4 × SECONDS_PER_RUN.
#
#   bash benches/wrk_access.sh             # 10 rounds of 5 s each
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/wrk_rounds.sh
source benches/wrk_rounds.sh
cargo build --release --example bench_server >&2
BIN=target/release/examples/bench_server
MODES=(bare metrics access access10)
declare -A ADDR=([bare]=127.0.0.1:18291 [metrics]=127.0.0.1:18292 [access]=127.0.0.1:18293 [access10]=127.0.0.1:18294)
OUT=$(mktemp -d)
PIDS=()
for mode in "${MODES[@]}"; do
  "$BIN" "$mode" "${ADDR[$mode]}" > "$OUT/$mode.log" & PIDS+=($!)
done
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$OUT"' EXIT
wait_ready
run_rounds
for m in access access10; do
  port=$(( ${ADDR[$m]##*:} + 100 ))
  curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^redline_log_(lines_written|lines_dropped)' | sed "s/^/$m: /"
  echo "$m: $(grep -c redline::access "$OUT/$m.log") access lines in its output file"
done
