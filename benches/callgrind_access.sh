#!/usr/bin/env bash
# Instructions one JSON access line costs the request's thread, counted by
# callgrind in the request loop of examples/callgrind_layer.rs (tower
# service, `instrumented` mode): redline's logging layer is installed in
# both runs (lines to stdout, sent to /dev/null; the buffer holds them all,
# and the example prints lines written and dropped), the access log is on
# in one, and each request carries an `x-request-id`. The writer thread's
# work is not counted (see docs/PERFORMANCE.md, "Access log").
#
#   bash benches/callgrind_access.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
cargo build --release --example callgrind_layer >&2
BIN=target/release/examples/callgrind_layer
count() { # ACCESS TRACES
  local out
  out=$(ACCESS=$1 TRACES=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='callgrind_layer::run*' "$BIN" instrumented "$N" 2>&1 >/dev/null)
  grep -F 'access lines:' <<<"$out" | sed "s/^/  ACCESS=$1 TRACES=$2: /" >&2
  awk '/Collected :/ {print $4}' <<<"$out"
}
for traces in off local; do
  off=$(( $(count off "$traces") / N ))
  on=$(( $(count on "$traces") / N ))
  echo "access line (tower, traces $traces): $off off, $on on, +$(( on - off )) per line"
done
