#!/usr/bin/env bash
# What 2,000 connections leave behind: the demo service (no load generator,
# no exporter: the defaults otherwise) gets CONNECTIONS concurrent keep-alive
# connections, one `GET /hello` on each, which are then all closed; ROUNDS
# times. The server's RSS is read after each step, after IDLE seconds, and
# after glibc's `malloc_trim(0)` is called in the live process
# (benches/support/connections_rss.py; the call is made by
# benches/support/malloc_probe.c, preloaded, which also prints glibc's
# malloc_stats(): bytes taken from the system and bytes in use). If RSS stays high after the close
# but a second round does not raise it, and the trim gives it back, the
# memory was freed and the allocator kept the pages for reuse.
#
#   bash benches/connections_rss.sh
#   MALLOC_ARENA_MAX=2 bash benches/connections_rss.sh
#   CONNECTIONS=500 ROUNDS=1 IDLE=5 TRIM=0 bash benches/connections_rss.sh
#   WRAP="heaptrack -o /tmp/conn.heaptrack" TRIM=0 bash benches/connections_rss.sh
#
# With WRAP (a profiler put before the server), the server is killed with
# SIGKILL at the end, so the profiler's "leaked" report is what was live.
#
# Loopback only; bounded (each round 2 minutes at most). The server is killed
# on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-2000}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-30}
TRIM=${TRIM:-1}
PORT=${PORT:-18350}
BUILD=${BUILD:-1}
WRAP=${WRAP:-}
BIN=target/release/redline
API=127.0.0.1:$PORT
ADMIN=127.0.0.1:$((PORT + 1))
[[ $BUILD == 1 ]] && nice -n 10 cargo build --release -p redline-demo >&2

PRELOAD=
if [[ $TRIM == 1 ]]; then
  cc -O2 -shared -fPIC -o target/malloc_probe.so benches/support/malloc_probe.c -lpthread
  PRELOAD=$PWD/target/malloc_probe.so
fi
LOG=$(mktemp /tmp/redline-connections-XXXXXX.log)
ERR=${LOG%.log}.err
# shellcheck disable=SC2086
REDLINE_LISTEN=$API LD_PRELOAD=$PRELOAD $WRAP "$BIN" --admin-listen "$ADMIN" --duration 600 > "$LOG" 2> "$ERR" &
WRAPPER=$!
SERVER=$WRAPPER
trap 'kill "$SERVER" "$WRAPPER" 2>/dev/null || true; sleep 0.5; kill -9 "$SERVER" "$WRAPPER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [[ -n $WRAP ]] && SERVER=$(pgrep -n -f "$BIN --admin-listen $ADMIN" || true)
  curl -sf "http://$ADMIN/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
# A few requests first, so the start-up allocations are not counted.
for _ in $(seq 20); do curl -sf "http://$API/hello" >/dev/null; done
echo "server pid $SERVER${MALLOC_ARENA_MAX:+, MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX}; $CONNECTIONS connections x $ROUNDS rounds" >&2
python3 benches/support/connections_rss.py "$SERVER" "$API" "$CONNECTIONS" "$ROUNDS" "$IDLE" "$TRIM" ${PRELOAD:+"$ERR"}
# How long the trim took (it walks every arena).
[[ $TRIM == 1 ]] && grep -h "malloc_trim" "$ERR" >&2
if [[ -n $WRAP ]]; then
  kill -9 "$SERVER" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$WRAPPER" 2>/dev/null || break; sleep 0.5; done
fi
