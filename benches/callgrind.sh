#!/usr/bin/env bash
# Instructions per request added by the layer, counted by callgrind (exact
# and repeatable, unlike wall time on a shared machine). Only the request
# loop is counted (`--toggle-collect` on `callgrind_layer::run`): start-up
# varies run to run (the TSC clock calibrates itself), so subtracting an
# empty run is not exact.
#
#   bash benches/callgrind.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
cargo build --release --example callgrind_layer >&2
BIN=target/release/examples/callgrind_layer
count() { # TRACES mode
  TRACES=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='callgrind_layer::run*' "$BIN" "$2" "$N" 2>&1 \
    | awk '/Collected :/ {print $4}'
}
declare -A per
for mode in bare axum-bare axum-noop; do
  per[$mode]=$(( $(count off "$mode") / N ))
done
for traces in off local sampled; do
  for mode in instrumented axum-instrumented; do
    per[$mode/$traces]=$(( $(count "$traces" "$mode") / N ))
  done
done
printf '%-28s %8s %8s\n' "per request" "tower" "axum"
printf '%-28s %8d %8d\n' "bare" "${per[bare]}" "${per[axum-bare]}"
printf '%-28s %8s %8d\n' "no-op layer (axum)" "-" "${per[axum-noop]}"
for traces in off local sampled; do
  printf '%-28s %8d %8d\n' "redline, traces $traces" "${per[instrumented/$traces]}" "${per[axum-instrumented/$traces]}"
done
echo
echo "added by redline (tower): metrics $(( per[instrumented/off] - per[bare] )), + trace context $(( per[instrumented/local] - per[instrumented/off] )), + sampled span $(( per[instrumented/sampled] - per[instrumented/off] ))"
echo "added by redline (axum, over the no-op layer): metrics $(( per[axum-instrumented/off] - per[axum-noop] )), axum's per-route layering $(( per[axum-noop] - per[axum-bare] ))"
echo
# What the status page costs a request (metrics only): the same binary with
# the page on and off (`REDLINE_STATUS_PAGE=false`).
for mode in instrumented axum-instrumented; do
  off=$(( $(STATUS=off count off "$mode") / N ))
  on=$(( $(STATUS=on count off "$mode") / N ))
  echo "status page ($mode): $off off, $on on, $(( on - off )) added per request"
done
echo
# The access line's cost (also on its own: benches/callgrind_access.sh).
bash benches/callgrind_access.sh "$N"
