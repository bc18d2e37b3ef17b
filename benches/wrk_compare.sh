#!/usr/bin/env bash
# Throughput of the instrumented server relative to the bare one, measured
# side by side: ROUNDS interleaved rounds (order alternating), each running
# wrk for SECONDS against each server; prints every round's requests/s and
# the median of the paired ratios. Loopback only; bounded by ROUNDS×SECONDS.
#
#   bash benches/wrk_compare.sh            # 10 rounds of 5 s each
#   ROUNDS=20 SECONDS_PER_RUN=5 bash benches/wrk_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-10}
SECS=${SECONDS_PER_RUN:-5}
CONNS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --example bench_server >&2
BIN=target/release/examples/bench_server
BARE=127.0.0.1:${BARE_PORT:-18091}
INSTR=127.0.0.1:${INSTR_PORT:-18092}
"$BIN" bare "$BARE" >/dev/null & P1=$!
"$BIN" instrumented "$INSTR" >/dev/null & P2=$!
trap 'kill $P1 $P2 2>/dev/null || true' EXIT
for addr in "$BARE" "$INSTR"; do
  for _ in $(seq 50); do curl -sf "http://$addr/hello" >/dev/null && break; sleep 0.1; done
done
rps() { wrk -t1 -c"$CONNS" -d"${SECS}s" "http://$1/hello" | awk '/Requests\/sec/ {print $2}'; }
# Warm-up, not counted.
rps "$BARE" >/dev/null; rps "$INSTR" >/dev/null
ratios=()
printf 'round  bare_rps  instrumented_rps  ratio\n'
for i in $(seq "$ROUNDS"); do
  if (( i % 2 )); then b=$(rps "$BARE"); n=$(rps "$INSTR"); else n=$(rps "$INSTR"); b=$(rps "$BARE"); fi
  r=$(awk -v n="$n" -v b="$b" 'BEGIN {printf "%.4f", n / b}')
  ratios+=("$r")
  printf '%5d  %8.0f  %16.0f  %s\n' "$i" "$b" "$n" "$r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "median paired ratio (instrumented / bare): %.4f over %d rounds (min %.4f, max %.4f)\n", m, NR, a[1], a[NR]}'
