#!/usr/bin/env bash
# Instructions per request of redline beside its peers (issue 17), counted
# by callgrind over the whole server process: every thread (the exporters'
# included) and the flush on SIGTERM. For each mode, the server runs under
# `valgrind --tool=callgrind` twice; once it listens, its counters are
# zeroed (`callgrind_control --zero`), peer_client sends N1 (then N2)
# requests (sequential, one keep-alive connection), and SIGTERM stops it (it
# flushes its telemetry, then exits); per request = (I(N2) − I(N1)) /
# (N2 − N1), so what shutdown costs cancels out.
# Each exporting mode sends to an OTLP/HTTP sink of its own (the root's
# examples/otlp_sink.rs, not counted).
#
#   bash benches/peers/callgrind.sh             # N1=1000, N2=4000
#   N1=500 N2=2000 bash benches/peers/callgrind.sh
#
# Writes the counts to OUT (default benches/peers/results/callgrind.tsv) and
# prints the table (report.py). Each run is bounded: 120 s to start, 600 s
# of requests, 120 s to flush and exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=benches/peers/common.sh
source benches/peers/common.sh
need valgrind valgrind
need callgrind_control valgrind

N1=${N1:-1000}
N2=${N2:-4000}
OUT=${OUT:-$PEERS/results/callgrind.tsv}
[ "$N2" -gt "$N1" ] || { echo "N2 must be larger than N1" >&2; exit 2; }

build
read -r -a PORTS <<< "$(free_ports $((2 * ${#MODES[@]})))"
for i in "${!MODES[@]}"; do
  mode=${MODES[$i]}
  if [ -n "${EXPORTS[$mode]:-}" ]; then
    start_sink "$mode" "${PORTS[$((i + ${#MODES[@]}))]}"
  fi
done

# count MODE PORT N: sets COUNT to the instructions the server executed
# serving N requests.
count() {
  local mode=$1 port=$2 n=$3 log
  start_server "$mode" "$port" 120 valgrind --tool=callgrind --callgrind-out-file=/dev/null
  log=${SERVER_LOG[$mode]}
  # Start-up is not counted: its cost varies by millions of instructions
  # run to run (quanta calibrates the TSC clock for a wall-clock while,
  # under redline and the metrics crate).
  timeout 60 callgrind_control --zero "${SERVER_PID[$mode]}" > /dev/null \
    || { echo "error: callgrind_control --zero failed for $mode" >&2; exit 1; }
  timeout 600 "$CLIENT_BIN" "127.0.0.1:$port" "$n" 2> "$RUN_DIR/client.log" \
    || { echo "error: peer_client against $mode failed:" >&2; cat "$RUN_DIR/client.log" >&2; tail -5 "$log" >&2; exit 1; }
  stop "${SERVER_PID[$mode]}" 120 || { echo "error: $mode did not exit within 120 s of SIGTERM" >&2; exit 1; }
  grep -q 'flushed' "$log" || { echo "error: $mode exited without flushing:" >&2; tail -5 "$log" >&2; exit 1; }
  grep -h 'spans exported:' "$log" | sed "s/^/# peer $mode N=$n: /" >> "$OUT" || true
  COUNT=$(awk '/Collected :/ {print $4}' "$log")
  [ -n "$COUNT" ] || { echo "error: no callgrind total for $mode in $log" >&2; exit 1; }
}

mkdir -p "$(dirname "$OUT")"
{
  echo "# command: N1=$N1 N2=$N2 bash benches/peers/callgrind.sh"
  machine_facts
  echo "# valgrind: $(valgrind --version)"
  printf 'mode\tn\tinstructions\n'
} > "$OUT"
for i in "${!MODES[@]}"; do
  mode=${MODES[$i]}
  for n in "$N1" "$N2"; do
    count "$mode" "${PORTS[$i]}" "$n"
    printf '%s\t%s\t%s\n' "$mode" "$n" "$COUNT" >> "$OUT"
    echo "$mode N=$n: $COUNT instructions" >&2
  done
done
for mode in "${!SINK_PID[@]}"; do
  stop "${SINK_PID[$mode]}" 10 || true
  grep -h '^received' "$RUN_DIR/sink-$mode.log" | sed "s/^/# sink $mode (both runs): /" >> "$OUT" || true
done
echo "==> counts in $OUT" >&2
python3 "$PEERS/report.py" table callgrind "$OUT"
