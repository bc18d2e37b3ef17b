#!/usr/bin/env bash
# Throughput of redline beside its peers (issue 17): every mode of
# peer_server (src/modes/) on its own loopback port, pinned to CPU 0
# (`taskset`, exporter threads included), wrk pinned to CPU 1
# (`wrk -t1 -cCONNECTIONS -dSECONDS_PER_RUN`), and each exporting mode with
# an OTLP/HTTP sink of its own (the root's examples/otlp_sink.rs, on CPU 1).
# ROUNDS interleaved rounds, the order rotating every round; each mode's
# requests/s is paired with bare's of the same round: ratio = rps/rps_bare,
# added µs/request = (1/rps − 1/rps_bare)·1e6, and the table gives the
# medians over the rounds.
#
# CPU guard: around each wrk run, the machine's busy time (/proc/stat) less
# what the server under test, wrk and the sinks used (/proc/PID/stat) is
# other activity (other builds, the idle servers' background threads). A
# round whose runs average more than GUARD_CORES of it is run again, at
# most GUARD_RETRIES times; then it is kept and marked.
#
#   bash benches/peers/wrk.sh                    # 8 rounds of 5 s per mode
#   ROUNDS=4 SECONDS_PER_RUN=3 bash benches/peers/wrk.sh
#   PEER_ERROR_EVERY=100 bash benches/peers/wrk.sh   # 1% of answers are 500
#
# Bounded: 9 modes × SECONDS_PER_RUN × ROUNDS × (1 + GUARD_RETRIES) at most,
# plus warm-up. Writes the raw runs to OUT (default
# benches/peers/results/wrk.tsv) and prints the table (report.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=benches/peers/common.sh
source benches/peers/common.sh
need wrk wrk
need curl curl

ROUNDS=${ROUNDS:-8}
SECS=${SECONDS_PER_RUN:-5}
CONNS=${CONNECTIONS:-32}
WARMUP=${WARMUP_SECONDS:-2}
GUARD_CORES=${GUARD_CORES:-0.08}
GUARD_RETRIES=${GUARD_RETRIES:-3}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$PEERS/results/wrk.tsv}
HZ=$(getconf CLK_TCK)

build
read -r -a PORTS <<< "$(free_ports $((2 * ${#MODES[@]})))"
declare -A ADDR=()
for i in "${!MODES[@]}"; do
  mode=${MODES[$i]}
  ADDR[$mode]=127.0.0.1:${PORTS[$i]}
  if [ -n "${EXPORTS[$mode]:-}" ]; then
    start_sink "$mode" "${PORTS[$((i + ${#MODES[@]}))]}" taskset -c "$LOAD_CPU"
  fi
  start_server "$mode" "${PORTS[$i]}" 30 taskset -c "$SERVER_CPU"
done
for mode in "${MODES[@]}"; do
  curl -s -o /dev/null -m 5 "http://${ADDR[$mode]}/hello" || { echo "error: $mode does not answer" >&2; exit 1; }
done

# The machine's busy jiffies (all CPUs): user, nice, system, irq, softirq, steal.
busy() {
  local _cpu user nice system _idle _iowait irq softirq steal _rest
  read -r _cpu user nice system _idle _iowait irq softirq steal _rest < /proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}
# utime + stime of the given processes (all their threads), in jiffies.
ticks() {
  local total=0 pid f
  for pid in "$@"; do
    read -r -a f < "/proc/$pid/stat"
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}
# cutime + cstime of this shell: wrk's CPU once it has been reaped.
reaped() {
  local f
  read -r -a f < "/proc/$$/stat"
  echo $((f[15] + f[16]))
}

# run MODE SECONDS: one wrk run; sets RPS, REQUESTS and OTHER (cores of
# other activity during the run).
run() {
  local mode=$1 secs=$2 b0 o0 r0 t0 b1 o1 r1 t1 out
  b0=$(busy); o0=$(ticks "${SERVER_PID[$mode]}" "${SINK_PID[@]}"); r0=$(reaped); t0=$(date +%s%N)
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" "http://${ADDR[$mode]}/hello")
  t1=$(date +%s%N); r1=$(reaped); o1=$(ticks "${SERVER_PID[$mode]}" "${SINK_PID[@]}"); b1=$(busy)
  RPS=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
  REQUESTS=$(awk '/requests in/ {print $1}' <<< "$out")
  if [ -z "$RPS" ]; then echo "error: wrk against $mode printed no rate:" >&2; echo "$out" >&2; exit 1; fi
  if [ -z "${PEER_ERROR_EVERY:-}" ] && grep -q 'Non-2xx' <<< "$out"; then
    echo "warning: $mode answered non-2xx: $(grep 'Non-2xx' <<< "$out")" >&2
  fi
  OTHER=$(awk -v b=$((b1 - b0)) -v o=$((o1 - o0)) -v r=$((r1 - r0)) -v hz="$HZ" -v ns=$((t1 - t0)) \
    'BEGIN {x = (b - o - r) / hz / (ns / 1e9); printf "%.3f", (x < 0 ? 0 : x)}')
}

mkdir -p "$(dirname "$OUT")"
{
  echo "# command: ROUNDS=$ROUNDS SECONDS_PER_RUN=$SECS CONNECTIONS=$CONNS GUARD_CORES=$GUARD_CORES${PEER_ERROR_EVERY:+ PEER_ERROR_EVERY=$PEER_ERROR_EVERY} bash benches/peers/wrk.sh"
  machine_facts
  echo "# wrk: $(wrk --version 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "# guard_cores: $GUARD_CORES"
  printf 'round\tattempt\tmode\trps\trequests\tother_cores\tstatus\n'
} > "$OUT"

declare -A TOTAL=()
echo "==> warm-up: ${WARMUP}s per mode" >&2
for mode in "${MODES[@]}"; do
  run "$mode" "$WARMUP"
  TOTAL[$mode]=$REQUESTS
done
echo "==> $ROUNDS rounds of ${SECS}s per mode (${#MODES[@]} modes), guard ${GUARD_CORES} cores" >&2
for round in $(seq "$ROUNDS"); do
  shift_by=$(((round - 1) % ${#MODES[@]}))
  order=("${MODES[@]:$shift_by}" "${MODES[@]:0:$shift_by}")
  for attempt in $(seq 0 "$GUARD_RETRIES"); do
    declare -A rps=() other=() requests=()
    for mode in "${order[@]}"; do
      run "$mode" "$SECS"
      rps[$mode]=$RPS other[$mode]=$OTHER requests[$mode]=$REQUESTS
      TOTAL[$mode]=$((TOTAL[$mode] + REQUESTS))
    done
    mean=$(printf '%s\n' "${other[@]}" | awk '{s += $1} END {printf "%.3f", s / NR}')
    clean=$(awk -v m="$mean" -v g="$GUARD_CORES" 'BEGIN {print (m <= g) ? 1 : 0}')
    if [ "$clean" = 1 ]; then status=kept
    elif [ "$attempt" = "$GUARD_RETRIES" ]; then status=marked
    else status=redone
    fi
    for mode in "${MODES[@]}"; do
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$attempt" "$mode" "${rps[$mode]}" \
        "${requests[$mode]}" "${other[$mode]}" "$status" >> "$OUT"
    done
    printf 'round %d attempt %d: other activity %s cores (%s); bare %.0f rps\n' \
      "$round" "$attempt" "$mean" "$status" "${rps[bare]}" >&2
    [ "$status" = redone ] || break
  done
done

# What each mode exported: redline's own counters, the peers' span count
# (printed when they stop), the sinks' totals.
echo "==> exports" >&2
for mode in "${MODES[@]}"; do
  admin=$(sed -n 's|^redline admin (/metrics) on http://||p' "${SERVER_LOG[$mode]}")
  if [ -n "${EXPORTS[$mode]:-}" ] && [ -n "$admin" ]; then
    curl -s -m 5 "http://$admin/metrics" | awk -v m="$mode" \
      '/^redline_trace_(spans_exported|spans_dropped|export_errors)_total/ {print "# redline " m ": " $0}' >> "$OUT"
  fi
done
for mode in "${MODES[@]}"; do
  stop "${SERVER_PID[$mode]}" 30 || echo "warning: $mode did not stop within 30 s" >&2
done
for mode in "${!SINK_PID[@]}"; do stop "${SINK_PID[$mode]}" 10 || true; done
for mode in "${MODES[@]}"; do
  echo "# served $mode: ${TOTAL[$mode]} requests" >> "$OUT"
  if [ -n "${EXPORTS[$mode]:-}" ]; then
    grep -h 'spans exported:' "${SERVER_LOG[$mode]}" | sed "s/^/# peer $mode: /" >> "$OUT" || true
    grep -h '^received' "$RUN_DIR/sink-$mode.log" | sed "s/^/# sink $mode: /" >> "$OUT" || true
  fi
done
echo "==> raw runs in $OUT" >&2
python3 "$PEERS/report.py" table wrk "$OUT"
