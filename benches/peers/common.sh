# shellcheck shell=bash disable=SC2034  # sets what the sourcing script uses
# Shared by wrk.sh and callgrind.sh (sourced, not run): the modes, the
# build, free ports, the OTLP sinks and servers they start, and a cleanup
# that stops every process started here (trap on EXIT).
#
# Expects to be sourced from the repository's root (the scripts cd there).

PEERS=benches/peers
MODES=(bare redline-metrics redline-traces100 redline-traces10 redline-tail redline-access
  axum-prometheus otel-tower-metrics otel-tower-spans tower-http-trace)
# The modes that export over OTLP/HTTP: each gets a sink of its own.
declare -A EXPORTS=([redline-traces100]=1 [redline-traces10]=1 [redline-tail]=1
  [otel-tower-metrics]=1 [otel-tower-spans]=1 [tower-http-trace]=1)
if [ -n "${PEER_MODES:-}" ]; then   # a subset, for a quick look: PEER_MODES="bare redline-metrics"
  read -r -a MODES <<< "$PEER_MODES"
  [ "${MODES[0]}" = bare ] || { echo "PEER_MODES must start with bare" >&2; exit 2; }
fi

# The root's target directory, as CI builds the crate: the peers reuse the
# builds of the dependencies they share with redline (about half the work).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
SERVER_BIN=$CARGO_TARGET_DIR/release/peer_server
CLIENT_BIN=$CARGO_TARGET_DIR/release/peer_client
SINK_BIN=$CARGO_TARGET_DIR/release/examples/otlp_sink
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/redline-peers.XXXXXX")
STARTED=()   # pids of everything started, stopped by cleanup

need() { command -v "$1" >/dev/null || { echo "$1 is missing: apt-get install $2" >&2; exit 1; }; }
need python3 python3
need taskset util-linux

build() {
  echo "==> building the peers (release) and the OTLP sink" >&2
  nice -n 10 cargo build --release --locked --manifest-path "$PEERS/Cargo.toml" --bins >&2
  nice -n 10 cargo build --release --features otlp-http --example otlp_sink >&2
}

# free_ports N: N distinct free loopback ports (all bound at once, then freed).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# wait_for_line FILE PATTERN SECONDS PID: waits until FILE has a line
# matching PATTERN; fails if PID exits first or the time runs out.
wait_for_line() {
  local file=$1 pattern=$2 secs=$3 pid=$4 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "error: process $pid exited; its log $file:" >&2; tail -20 "$file" >&2; exit 1; }
    sleep 0.1
  done
  echo "error: no '$pattern' in $file after ${secs}s" >&2
  tail -20 "$file" >&2
  exit 1
}

# start_sink MODE PORT WRAPPER...: an OTLP/HTTP sink for MODE behind the
# WRAPPER command (taskset, or none); sets SINK_PID[MODE] and SINK_URL[MODE].
declare -A SINK_PID=() SINK_URL=()
start_sink() {
  local mode=$1 port=$2 log=$RUN_DIR/sink-$1.log
  shift 2
  "$@" "$SINK_BIN" "127.0.0.1:$port" > "$log" 2>&1 &
  SINK_PID[$mode]=$!
  STARTED+=($!)
  SINK_URL[$mode]=http://127.0.0.1:$port
  wait_for_line "$log" "OTLP/HTTP sink on" 10 "${SINK_PID[$mode]}"
}

# start_server MODE PORT SECONDS WRAPPER...: the mode's server behind the
# WRAPPER command (taskset, valgrind), its stdout to /dev/null, its stderr
# to $RUN_DIR/server-MODE.log; waits up to SECONDS for it to listen. Sets
# SERVER_PID[MODE] and SERVER_LOG[MODE].
declare -A SERVER_PID=() SERVER_LOG=()
start_server() {
  local mode=$1 port=$2 secs=$3
  shift 3
  local log=$RUN_DIR/server-$mode.log
  # Emptied here, not by the child's redirection: the wait below must not
  # see the line of an earlier run of the same mode.
  : > "$log"
  OTLP_SINK=${SINK_URL[$mode]:-http://127.0.0.1:9} "$@" "$SERVER_BIN" "$mode" "127.0.0.1:$port" > /dev/null 2>> "$log" &
  SERVER_PID[$mode]=$!
  SERVER_LOG[$mode]=$log
  STARTED+=($!)
  wait_for_line "$log" "listening on" "$secs" "${SERVER_PID[$mode]}"
}

# stop PID SECONDS: SIGTERM, then waits (bounded) for it to exit; SIGKILL
# after SECONDS. Returns 1 if it had to be killed.
stop() {
  local pid=$1 secs=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 1
}

# Stops what was started here and still runs (a pid this shell has not
# reaped yet: `jobs -p`), then removes the run's logs.
cleanup() {
  local pid running
  running=" $(jobs -p | tr '\n' ' ') "
  for pid in "${STARTED[@]}"; do
    if [[ $running == *" $pid "* ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  sleep 0.5
  for pid in "${STARTED[@]}"; do
    if [[ $running == *" $pid "* ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every machine fact the report states.
machine_facts() {
  echo "# cpu: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "# nproc: $(nproc)"
  echo "# kernel: $(uname -r)"
  echo "# rustc: $(rustc -V)"
  echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
}
