#!/usr/bin/env bash
# Instructions per request added by the layer, counted by callgrind (exact
# and repeatable, unlike wall time on a shared machine). Each mode runs with
# N requests and with 0 to subtract start-up.
#
#   bash benches/callgrind.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
cargo build --release --example callgrind_layer >&2
BIN=target/release/examples/callgrind_layer
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 \
    | awk '/Collected :/ {print $4}'
}
declare -A per
for mode in bare instrumented axum-bare axum-noop axum-instrumented; do
  zero=$(count "$mode" 0); full=$(count "$mode" "$N")
  per[$mode]=$(( (full - zero) / N ))
  echo "$mode: $(( full - zero )) instructions for $N requests = ${per[$mode]} per request"
done
echo "added by the layer (tower service_fn): $(( per[instrumented] - per[bare] )) instructions per request"
echo "added by the layer (axum Router::layer): $(( per[axum-instrumented] - per[axum-bare] )) instructions per request"
echo "  of which axum's per-route layering (no-op layer): $(( per[axum-noop] - per[axum-bare] ))"
echo "  and redline's own work: $(( per[axum-instrumented] - per[axum-noop] ))"
