#!/usr/bin/env bash
# What the status page costs a request: instructions per request of the
# metrics-only layer (tower and axum), with the page on and with
# `REDLINE_STATUS_PAGE=false`, counted by callgrind in the same binary.
#
#   bash benches/callgrind_status.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
cargo build --release --example callgrind_layer >&2
BIN=target/release/examples/callgrind_layer
count() { # STATUS mode
  STATUS=$1 TRACES=off valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='callgrind_layer::run*' "$BIN" "$2" "$N" 2>&1 \
    | awk '/Collected :/ {print $4}'
}
printf '%-22s %10s %10s %8s\n' "per request" "page off" "page on" "delta"
for mode in instrumented axum-instrumented; do
  off=$(( $(count off "$mode") / N ))
  on=$(( $(count on "$mode") / N ))
  printf '%-22s %10d %10d %+7.2f%%\n' "$mode" "$off" "$on" "$(echo "($on - $off) * 100 / $off" | bc -l)"
done
