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
ROUNDS=${ROUNDS:-10}
SECS=${SECONDS_PER_RUN:-5}
CONNS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
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
for mode in "${MODES[@]}"; do
  for _ in $(seq 50); do curl -sf "http://${ADDR[$mode]}/hello" >/dev/null && break; sleep 0.1; done
done
rps() { wrk -t1 -c"$CONNS" -d"${SECS}s" "http://${ADDR[$1]}/hello" | awk '/Requests\/sec/ {print $2}'; }
for mode in "${MODES[@]}"; do rps "$mode" >/dev/null; done   # warm-up, not counted
declare -A ratios=()
printf 'round'; for m in "${MODES[@]}"; do printf ' %10s' "$m"; done; printf '   (requests/s)\n'
for i in $(seq "$ROUNDS"); do
  declare -A got=()
  shift_by=$(( (i - 1) % ${#MODES[@]} ))
  order=("${MODES[@]:$shift_by}" "${MODES[@]:0:$shift_by}")
  for mode in "${order[@]}"; do got[$mode]=$(rps "$mode"); done
  printf '%5d' "$i"; for m in "${MODES[@]}"; do printf ' %10.0f' "${got[$m]}"; done; printf '\n'
  for m in "${MODES[@]:1}"; do
    ratios[$m]+="$(awk -v n="${got[$m]}" -v b="${got[bare]}" 'BEGIN {printf "%.4f", n / b}') "
  done
done
median() { printf '%s\n' $@ | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.4f (min %.4f, max %.4f, %d rounds)", m, a[1], a[NR], NR}'; }
for m in "${MODES[@]:1}"; do
  printf 'median paired ratio %-8s / bare: %s\n' "$m" "$(median ${ratios[$m]})"
done
for m in access access10; do
  port=$(( ${ADDR[$m]##*:} + 100 ))
  curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^redline_log_(lines_written|lines_dropped)' | sed "s/^/$m: /"
  echo "$m: $(grep -c redline::access "$OUT/$m.log") access lines in its output file"
done
