#!/usr/bin/env bash
# Throughput of the instrumented server relative to the bare one, measured
# side by side: ROUNDS interleaved rounds (the order rotates every round),
# each running wrk for SECONDS_PER_RUN against each of three servers:
#   bare          axum, GET /hello
#   noop          the same with a pass-through layer added by Router::layer
#                 (what axum's per-route layering costs by itself)
#   instrumented  the same with redline's layer
# Prints every round and the median of the paired ratios. Loopback only;
# bounded by ROUNDS × 3 × SECONDS_PER_RUN.
#
#   bash benches/wrk_compare.sh            # 10 rounds of 5 s each
#   ROUNDS=20 SECONDS_PER_RUN=5 bash benches/wrk_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/wrk_rounds.sh
source benches/wrk_rounds.sh
cargo build --release --example bench_server >&2
BIN=target/release/examples/bench_server
declare -A ADDR=([bare]=127.0.0.1:18091 [noop]=127.0.0.1:18092 [instrumented]=127.0.0.1:18093)
PIDS=()
for mode in bare noop instrumented; do
  "$BIN" "$mode" "${ADDR[$mode]}" >/dev/null & PIDS+=($!)
done
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for mode in bare noop instrumented; do
  for _ in $(seq 50); do curl -sf "http://${ADDR[$mode]}/hello" >/dev/null && break; sleep 0.1; done
done
for mode in bare noop instrumented; do rps "$mode" >/dev/null; done   # warm-up, not counted
ORDERS=("bare noop instrumented" "noop instrumented bare" "instrumented bare noop")
r_instr=(); r_noop=(); r_layer=()
printf 'round  bare_rps  noop_rps  instrumented_rps  instr/bare  noop/bare  instr/noop\n'
for i in $(seq "$ROUNDS"); do
  declare -A got=()
  for mode in ${ORDERS[$(( (i - 1) % 3 ))]}; do got[$mode]=$(rps "$mode"); done
  a=$(awk -v n="${got[instrumented]}" -v b="${got[bare]}" 'BEGIN {printf "%.4f", n / b}')
  b=$(awk -v n="${got[noop]}" -v b="${got[bare]}" 'BEGIN {printf "%.4f", n / b}')
  c=$(awk -v n="${got[instrumented]}" -v b="${got[noop]}" 'BEGIN {printf "%.4f", n / b}')
  r_instr+=("$a"); r_noop+=("$b"); r_layer+=("$c")
  printf '%5d  %8.0f  %8.0f  %16.0f  %10s  %9s  %10s\n' "$i" "${got[bare]}" "${got[noop]}" "${got[instrumented]}" "$a" "$b" "$c"
done
echo "median paired ratio instrumented / bare: $(median "${r_instr[@]}")"
echo "median paired ratio noop / bare:         $(median "${r_noop[@]}")"
echo "median paired ratio instrumented / noop: $(median "${r_layer[@]}")"
