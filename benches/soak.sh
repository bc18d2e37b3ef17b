#!/usr/bin/env bash
# Soak: the demo service (`target/release/redline`, crate demo/) under its own
# paced load, every request traced and exported to a collector that accepts
# and never answers; RSS, file descriptors and threads sampled every
# INTERVAL seconds into a CSV, and the RSS slope fitted by least squares from
# FIT_FROM seconds to the end (KB/min, and % of RSS per hour extrapolated;
# target: flat, under 1%/h). Not part of CI: it runs for DURATION.
#
#   bash benches/soak.sh                                  # 1 h, 300 req/s, hung collector
#   DURATION=600 COLLECTOR=none bash benches/soak.sh      # 10 min, no exporter
#   DURATION=600 COLLECTOR=sink bash benches/soak.sh      # a collector that answers
#   WRAP="heaptrack -o /tmp/soak.heaptrack" DURATION=900 STOP=kill bash benches/soak.sh
#   FIT_FROM=900 bash benches/soak.sh --summary /tmp/redline-soak-hung-…/samples.csv
#
# Settings (environment):
#   DURATION   seconds of load (3600)
#   RATE       requests per second from the demo's generator, `--load` (300)
#   COLLECTOR  hung: benches/support/hung_collector.py (accepts, never answers)
#              none: no OTLP endpoint (trace context only, nothing exported)
#              sink: examples/otlp_sink.rs, answers every request (http/protobuf)
#   PROTOCOL   grpc (the default of OTEL_EXPORTER_OTLP_PROTOCOL) or http/protobuf;
#              COLLECTOR=sink needs http/protobuf and sets it
#   INTERVAL   seconds between samples (10)
#   FIT_FROM   first second of the slope fit (120: minute 2 to the end)
#   PORT       API port; admin PORT+1, collector PORT+2 (18300)
#   OUT        directory for samples.csv, the logs and summary.txt
#              (/tmp/redline-soak-COLLECTOR-DATE)
#   PROBE      1: preload benches/support/malloc_probe.c into the server and
#              add glibc's own totals to every sample (malloc_stats(): bytes
#              taken from the system, bytes in use), so heap growth and
#              allocator retention can be told apart
#   TRIM       1 (implies PROBE=1): before stopping, have malloc_trim(0)
#              called in the server and sample RSS again (what it gives back
#              was free memory the allocator kept, not memory in use)
#   WRAP       a command put before the server (heaptrack, valgrind …)
#   BUILD      0: do not run cargo (the binary must exist)
#   STOP       term: SIGTERM, a graceful shutdown (the default); kill: SIGKILL,
#              so a heap profiler's "leaked" report is what was live at the end
#   MALLOC_ARENA_MAX and other glibc variables are passed through.
#
# Everything is on loopback; the generator's rate is fixed (requests beyond
# 256 in flight are skipped, never queued) and the whole run is bounded by
# DURATION plus a minute. Every child is killed on exit.
set -euo pipefail
# The slope: least squares of RSS (and RssAnon, and glibc's heap in use when
# sampled) over t >= FIT_FROM, with the fds and threads range.
summarize() {
  awk -F, -v from="$FIT_FROM" -v rate="$RATE" -v coll="$COLLECTOR" -v proto="$PROTOCOL" '
    NR == 1 { next }
    NR == 2 { rss0 = $2; fd0 = $5; th0 = $6 }
    {
      last_t = $1; rss1 = $2; fd1 = $5; th1 = $6; req = $7; exp_ = $8; dq = $9; de = $10; ee = $11
      if (fdmin == "" || $5 < fdmin) fdmin = $5; if ($5 > fdmax) fdmax = $5
      if (thmin == "" || $6 < thmin) thmin = $6; if ($6 > thmax) thmax = $6
      if ($1 < from) next
      x = $1 / 60; n++; sx += x; sy += $2; sxx += x * x; sxy += x * $2; sa += $3; sxa += x * $3
      if ($14 != "") { hn++; hx += x; hy += $14; hxx += x * x; hxy += x * $14; if (hn == 1) h0 = $14; h1 = $14 }
      if (n == 1) rssf = $2
    }
    END {
      d = n * sxx - sx * sx
      if (n < 3 || d == 0) { print "too few samples after " from " s"; exit 1 }
      b = (n * sxy - sx * sy) / d; ba = (n * sxa - sx * sa) / d; mean = sy / n
      printf "collector %s (%s), %d req/s, %d s, %d samples fitted (t >= %d s)\n", coll, proto, rate, last_t, n, from
      printf "RSS %.1f MB at start, %.1f MB at %d s, %.1f MB at the end (mean %.1f MB over the fit)\n", rss0/1024, rssf/1024, from, rss1/1024, mean/1024
      printf "RSS slope %+.1f KB/min = %+.2f%% of RSS per hour (RssAnon %+.1f KB/min)\n", b, b * 60 / mean * 100, ba
      if (hn > 2) printf "heap in use (glibc) %.1f -> %.1f MB, slope %+.1f KB/min\n", h0/1024, h1/1024, (hn * hxy - hx * hy) / (hn * hxx - hx * hx)
      printf "fds %d -> %d (min %d, max %d); threads %d -> %d (min %d, max %d)\n", fd0, fd1, fdmin, fdmax, th0, th1, thmin, thmax
      printf "requests %d; spans exported %s, dropped queue_full %s, export_failed %s; export errors %s\n", req, exp_, dq, de, ee
    }' "$1"
}

# The whole script is one function, read by bash before it runs: editing the
# file during an hour-long run cannot change the run.
main() {
cd "$(dirname "$0")/.."

DURATION=${DURATION:-3600}
RATE=${RATE:-300}
COLLECTOR=${COLLECTOR:-hung}
PROTOCOL=${PROTOCOL:-grpc}
INTERVAL=${INTERVAL:-10}
FIT_FROM=${FIT_FROM:-120}
PORT=${PORT:-18300}
TRIM=${TRIM:-0}
PROBE=${PROBE:-$TRIM}
WRAP=${WRAP:-}
STOP=${STOP:-term}
BUILD=${BUILD:-1}
OUT=${OUT:-/tmp/redline-soak-$COLLECTOR-$(date +%Y%m%d-%H%M%S)}
API=127.0.0.1:$PORT
ADMIN=127.0.0.1:$((PORT + 1))
COLL=127.0.0.1:$((PORT + 2))
BIN=target/release/redline
mkdir -p "$OUT"

case $COLLECTOR in
  hung | none) ;;
  sink) PROTOCOL=http/protobuf ;;
  *) echo "COLLECTOR must be hung, none or sink" >&2; exit 2 ;;
esac

if [[ $BUILD == 1 ]]; then
  nice -n 10 cargo build --release -p redline-demo >&2
  [[ $COLLECTOR == sink ]] && nice -n 10 cargo build --release --example otlp_sink >&2
fi

PRELOAD=
if [[ $PROBE == 1 ]]; then
  mkdir -p target
  cc -O2 -shared -fPIC -o target/malloc_probe.so benches/support/malloc_probe.c -lpthread
  PRELOAD=$PWD/target/malloc_probe.so
fi

PIDS=()
SERVER=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local p
  for p in ${SERVER:+"$SERVER"} "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in ${SERVER:+"$SERVER"} "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The collector.
ENDPOINT=
case $COLLECTOR in
  hung)
    python3 benches/support/hung_collector.py "$COLL" "$((DURATION + 60))" 64 \
      > "$OUT/collector.log" 2>&1 & PIDS+=($!)
    ENDPOINT=http://$COLL ;;
  sink)
    timeout "$((DURATION + 60))" target/release/examples/otlp_sink "$COLL" \
      > "$OUT/collector.log" 2>&1 & PIDS+=($!)
    ENDPOINT=http://$COLL ;;
esac
sleep 0.5

# The server: defaults otherwise (access log of every request at info on
# stdout, status page on), every request sampled. The access lines are
# filtered out of the kept log (a million lines an hour); the rest is kept.
# The demo stops by itself after DURATION + 30 s if this script dies.
env_args=(REDLINE_LISTEN="$API" OTEL_TRACES_SAMPLER=always_on
  OTEL_EXPORTER_OTLP_PROTOCOL="$PROTOCOL" REDLINE_UNKNOWN_VARIABLES=warn)
[[ -n $PRELOAD ]] && env_args+=(LD_PRELOAD="$PRELOAD")
[[ -n $ENDPOINT ]] && env_args+=(OTEL_EXPORTER_OTLP_ENDPOINT="$ENDPOINT")
# shellcheck disable=SC2086
env "${env_args[@]}" $WRAP "$BIN" --admin-listen "$ADMIN" --load "$RATE" \
  --duration "$((DURATION + 30))" \
  > >(grep --line-buffered -v '"target":"redline::access"' > "$OUT/server.log") \
  2> "$OUT/server.err" &
WRAPPER=$!
PIDS+=("$WRAPPER")

# The process to sample: the server itself, also under a wrapper.
for _ in $(seq 100); do
  if [[ -z $WRAP ]]; then SERVER=$WRAPPER  # env execs the binary
  else SERVER=$(pgrep -n -f "$BIN --admin-listen $ADMIN" || true); fi
  [[ -n $SERVER ]] && curl -sf "http://$ADMIN/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
[[ -n $SERVER ]] || { echo "server did not start; see $OUT/server.err" >&2; exit 1; }
echo "soak: pid $SERVER, $RATE req/s for ${DURATION}s, collector $COLLECTOR ($PROTOCOL), samples in $OUT/samples.csv" >&2

metric() { # name[{labels}] -> value, from one scrape in $SCRAPE
  awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "" }' <<<"$SCRAPE"
}
requests() {
  awk '/^http_server_request_duration_seconds_count/ { s += $2 } END { printf "%d", s }' <<<"$SCRAPE"
}

# glibc's totals in KB ("system,in_use"), asked of the probe with SIGUSR1;
# empty without it.
malloc_totals() {
  [[ -n $PRELOAD ]] || { echo ","; return; }
  local err=$OUT/server.err before text
  before=$(stat -c %s "$err")
  kill -USR1 "$SERVER" 2>/dev/null || { echo ","; return; }
  for _ in $(seq 25); do
    sleep 0.1
    text=$(tail -c +"$((before + 1))" "$err")
    if grep -q "max mmap bytes" <<<"$text"; then
      awk '/^Total/ { t = 1 } t && /system bytes/ { s = $4 } t && /in use bytes/ { u = $5; t = 0 }
           END { printf "%d,%d", s / 1024, u / 1024 }' <<<"$text"
      echo
      return
    fi
  done
  echo ","
}

CSV=$OUT/samples.csv
echo "t_s,rss_kb,rss_anon_kb,vm_kb,fds,threads,requests,spans_exported,dropped_queue_full,dropped_export_failed,export_errors,queue_spans,malloc_system_kb,malloc_in_use_kb" > "$CSV"
sample() {
  local t=$1 status rss anon vm thr fds
  status=$(cat "/proc/$SERVER/status") || return 1
  rss=$(awk '/^VmRSS:/ { print $2 }' <<<"$status")
  anon=$(awk '/^RssAnon:/ { print $2 }' <<<"$status")
  vm=$(awk '/^VmSize:/ { print $2 }' <<<"$status")
  thr=$(awk '/^Threads:/ { print $2 }' <<<"$status")
  fds=$(find "/proc/$SERVER/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  SCRAPE=$(curl -sf -m 5 "http://$ADMIN/metrics" || true)
  echo "$t,$rss,$anon,$vm,$fds,$thr,$(requests),$(metric redline_trace_spans_exported_total),$(metric 'redline_trace_spans_dropped_total{reason="queue_full"}'),$(metric 'redline_trace_spans_dropped_total{reason="export_failed"}'),$(metric redline_trace_export_errors_total),$(metric redline_trace_queue_spans),$(malloc_totals)" >> "$CSV"
}

START=$(date +%s.%N)
n=0
while :; do
  t=$(awk -v s="$START" -v n="$(date +%s.%N)" 'BEGIN { printf "%d", n - s + 0.5 }')
  sample "$t" || { echo "server gone at ${t}s; see $OUT/server.err" >&2; break; }
  (( t >= DURATION )) && break
  n=$((n + 1))
  next=$(awk -v s="$START" -v i="$((n * INTERVAL))" -v n="$(date +%s.%N)" 'BEGIN { d = s + i - n; printf "%.3f", (d > 0 ? d : 0) }')
  sleep "$next"
done

if [[ $TRIM == 1 ]] && [[ -d /proc/$SERVER ]]; then
  before=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER/status")
  kill -USR2 "$SERVER"
  sleep 2
  after=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER/status")
  echo "malloc_trim(0) at the end: RSS $before -> $after KB (heap in use $(malloc_totals | cut -d, -f2) KB)" > "$OUT/trim.txt"
fi

# Stop: SIGTERM to the server (graceful, traces flushed within
# REDLINE_TRACES_SHUTDOWN_TIMEOUT) or SIGKILL, then the rest; a wrapper
# (heaptrack) is given time to write its data.
if [[ $STOP == kill ]]; then kill -9 "$SERVER" 2>/dev/null || true
else kill "$SERVER" 2>/dev/null || true; fi
for _ in $(seq 60); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.5; done
[[ -n $WRAP ]] && for _ in $(seq 600); do kill -0 "$WRAPPER" 2>/dev/null || break; sleep 0.5; done
SERVER=
sleep 0.5

summarize "$CSV" > "$OUT/summary.txt"
[[ -f $OUT/trim.txt ]] && cat "$OUT/trim.txt" >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
echo "soak: $OUT" >&2
}
if [[ ${1:-} == --summary ]]; then
  # bash benches/soak.sh --summary DIR/samples.csv: the summary of a run
  # again (FIT_FROM, RATE, COLLECTOR, PROTOCOL from the environment).
  FIT_FROM=${FIT_FROM:-120} RATE=${RATE:-300} COLLECTOR=${COLLECTOR:-?} PROTOCOL=${PROTOCOL:-grpc}
  summarize "$2"
  exit
fi
main "$@"
exit
