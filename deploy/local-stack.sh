#!/usr/bin/env bash
# The redline stack without Docker: the demo (with load), Prometheus and
# Alertmanager from Debian's packages, all on 127.0.0.1, with the shipped
# configuration (deploy/prometheus.yml, alerts/redline.rules.yml,
# alerts/alertmanager.yml), and a webhook receiver (deploy/webhook-receiver.py,
# python3) that prints every notification Alertmanager sends. Grafana, the
# collector and Jaeger are only in docker-compose.yml.
#
# It prints the URLs that answer on the Prometheus and Alertmanager installed
# (Debian's builds have no React UI: /classic/targets, not /targets; and no
# Alertmanager web UI), the admin token to export, a fault-injection command,
# and how long the first page takes with the shipped rules and routing
# (deploy/first-page.py, python3 with PyYAML).
#
#   apt-get install -y prometheus prometheus-alertmanager curl
#   deploy/local-stack.sh                     # until Ctrl-C
#   deploy/local-stack.sh --duration 60       # stops by itself 60 s after it is ready
#   deploy/local-stack.sh -- --error-rate 0.2 # extra flags for `redline demo`
#                                             # (not --listen/--admin-listen/--load:
#                                             #  those come from the STACK_* settings)
#
# Settings (environment):
#   REDLINE_BIN              the redline binary; default target/release/redline,
#                            built with `cargo build --release` when missing (an
#                            existing one is used as is: rebuild it after changes)
#   PROMETHEUS_BIN           default: prometheus from PATH (/usr/bin/prometheus)
#   ALERTMANAGER_BIN         default: prometheus-alertmanager (Debian) or alertmanager
#   STACK_APP_PORT           demo API port            (8080)
#   STACK_ADMIN_PORT         demo admin port          (9464: /metrics, /ready...)
#   STACK_PROMETHEUS_PORT    Prometheus port          (9090)
#   STACK_ALERTMANAGER_PORT  Alertmanager port        (9093)
#   STACK_RECEIVER_PORT      webhook receiver port    (the port of the loopback
#                            webhook URLs in alerts/alertmanager.yml, 5001, or
#                            any free port when that one is taken; 0: any free
#                            port). Alertmanager gets a copy of its configuration
#                            with those URLs pointing at the receiver.
#   STACK_LOAD               demo load, requests/s    (20)
#   STACK_READY_TIMEOUT      seconds to wait for each component (60)
#   STACK_KEEP_TMP=1         keep the temporary directory (logs, data) at exit
#   REDLINE_ADMIN_TOKEN      admin token; a random one is generated if unset
# Other REDLINE_* and OTEL_* variables reach the demo as usual. Exemplars
# (trace ids on latency buckets) exist only while traces are exported: set
# OTEL_EXPORTER_OTLP_ENDPOINT to a collector to see them in Prometheus.
#
# Everything lives in one temporary directory (generated configs, data,
# logs, the notifications received as JSON lines), removed at exit.
# Ctrl-C or SIGTERM stops every process it started, waits for them, and
# removes the directory.
#
#   --print-prometheus-config   print the loopback prometheus.yml and exit
#                               (deploy/check.sh validates it with promtool)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO
readonly HOST=127.0.0.1
APP_PORT="${STACK_APP_PORT:-8080}"
ADMIN_PORT="${STACK_ADMIN_PORT:-9464}"
PROM_PORT="${STACK_PROMETHEUS_PORT:-9090}"
AM_PORT="${STACK_ALERTMANAGER_PORT:-9093}"
RECEIVER_PORT="${STACK_RECEIVER_PORT:-}"   # empty: from the Alertmanager configuration
LOAD="${STACK_LOAD:-20}"
READY_TIMEOUT="${STACK_READY_TIMEOUT:-60}"
RULES_FILE="$REPO/alerts/redline.rules.yml"
AM_CONFIG="$REPO/alerts/alertmanager.yml"

log() { printf 'local-stack: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

DURATION=""
PRINT_CONFIG=0
DEMO_ARGS=()
while (($#)); do
  case "$1" in
    --duration) (($# >= 2)) || die "--duration needs a number of seconds"; DURATION="$2"; shift 2 ;;
    --duration=*) DURATION="${1#*=}"; shift ;;
    --print-prometheus-config) PRINT_CONFIG=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; DEMO_ARGS=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
[[ -z $DURATION ]] || { is_uint "$DURATION" && ((DURATION > 0)); } || die "--duration: a positive number of seconds, not '$DURATION'"
# Internal name -> the variable that sets it, for messages.
declare -A PORT_ENV=([APP_PORT]=STACK_APP_PORT [ADMIN_PORT]=STACK_ADMIN_PORT
                     [PROM_PORT]=STACK_PROMETHEUS_PORT [AM_PORT]=STACK_ALERTMANAGER_PORT
                     [RECEIVER_PORT]=STACK_RECEIVER_PORT)
for v in APP_PORT ADMIN_PORT PROM_PORT AM_PORT; do
  if ! is_uint "${!v}" || ((${!v} < 1 || ${!v} > 65535)); then die "${PORT_ENV[$v]}: not a port: '${!v}'"; fi
done
if [[ -n $RECEIVER_PORT ]] && { ! is_uint "$RECEIVER_PORT" || ((RECEIVER_PORT > 65535)); }; then
  die "STACK_RECEIVER_PORT: not a port: '$RECEIVER_PORT'"
fi
is_uint "$READY_TIMEOUT" || die "STACK_READY_TIMEOUT: seconds, not '$READY_TIMEOUT'"

# --------------------------------------------------------------- configs ----

# Escapes a string for the replacement side of a sed s### command.
sed_repl() { printf '%s' "$1" | sed -e 's/[\\&#]/\\&/g'; }

# deploy/prometheus.yml with the compose host names turned into loopback
# ports, the rule file taken from the repository (or dropped, with a warning,
# while it does not exist), and the docker-only jobs removed.
prometheus_config() {
  local rules_expr
  if [[ -f $RULES_FILE ]]; then
    rules_expr="s#/etc/prometheus/alerts/#$(sed_repl "$REPO/alerts/")#g"
  else
    rules_expr='\#/etc/prometheus/alerts/#d'
  fi
  printf '# Generated by deploy/local-stack.sh from deploy/prometheus.yml: loopback targets.\n'
  # Comment lines are left alone; the rest is rewritten.
  sed -e '/# docker-only:begin/,/# docker-only:end/d' \
      -e "/^[[:space:]]*#/!s#\\bapp:9464\\b#$HOST:$ADMIN_PORT#g" \
      -e "/^[[:space:]]*#/!s#\\bprometheus:9090\\b#$HOST:$PROM_PORT#g" \
      -e "/^[[:space:]]*#/!s#\\balertmanager:9093\\b#$HOST:$AM_PORT#g" \
      -e "$rules_expr" \
      "$REPO/deploy/prometheus.yml"
}

if ((PRINT_CONFIG)); then
  [[ -f $RULES_FILE ]] || log "warning: $RULES_FILE does not exist yet: no rule_files in this config"
  prometheus_config
  exit 0
fi

# ------------------------------------------------------------- binaries ----

command -v curl >/dev/null || die "curl is needed (apt-get install -y curl)"

PROMETHEUS_BIN="${PROMETHEUS_BIN:-$(command -v prometheus || true)}"
[[ -n $PROMETHEUS_BIN && -x $PROMETHEUS_BIN ]] \
  || die "prometheus not found: apt-get install -y prometheus, or set PROMETHEUS_BIN"
ALERTMANAGER_BIN="${ALERTMANAGER_BIN:-$(command -v prometheus-alertmanager || command -v alertmanager || true)}"
[[ -n $ALERTMANAGER_BIN && -x $ALERTMANAGER_BIN ]] \
  || die "alertmanager not found: apt-get install -y prometheus-alertmanager, or set ALERTMANAGER_BIN"

if [[ -n ${REDLINE_BIN:-} ]]; then
  [[ -x $REDLINE_BIN ]] || die "REDLINE_BIN=$REDLINE_BIN is not an executable file"
else
  REDLINE_BIN="$REPO/target/release/redline"
  if [[ ! -x $REDLINE_BIN ]]; then
    command -v cargo >/dev/null || die "$REDLINE_BIN is missing and cargo is not installed (or set REDLINE_BIN)"
    log "building the demo: cargo build --release (once; set REDLINE_BIN to use another binary)"
    (cd "$REPO" && cargo build --release --bin redline) || die "cargo build failed"
  fi
fi

# A port that already answers belongs to someone else: refuse rather than
# report another program's readiness as ours.
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
port_vars=(APP_PORT ADMIN_PORT PROM_PORT AM_PORT)
# The receiver's port when chosen explicitly; else decided below.
if [[ -n $RECEIVER_PORT && $RECEIVER_PORT != 0 ]]; then port_vars+=(RECEIVER_PORT); fi
ports=()
for v in "${port_vars[@]}"; do
  if port_in_use "${!v}"; then die "$HOST:${!v} is already in use: choose another port with ${PORT_ENV[$v]}"; fi
  ports+=("${!v}")
done
[[ $(printf '%s\n' "${ports[@]}" | sort -u | wc -l) -eq ${#ports[@]} ]] || die "the ports must differ: ${ports[*]}"

# ------------------------------------------------------- start and stop ----

TMP="$(mktemp -d "${TMPDIR:-/tmp}/redline-stack.XXXXXX")"
NOTIFICATIONS="$TMP/notifications.jsonl"   # the receiver's, one JSON document a line
declare -A PIDS=()   # name -> pid
STOPPING=0

# shellcheck disable=SC2317  # called from traps
stop_all() {
  ((STOPPING)) && return 0
  STOPPING=1
  trap '' INT TERM
  local name pid deadline
  for name in "${!PIDS[@]}"; do
    kill -TERM "${PIDS[$name]}" 2>/dev/null || true
  done
  # The demo drains (REDLINE_SHUTDOWN_DELAY + REDLINE_SHUTDOWN_GRACE), the
  # others stop within seconds; after 30 s, kill what is left.
  deadline=$((SECONDS + 30))
  for name in "${!PIDS[@]}"; do
    pid="${PIDS[$name]}"
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop in time: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  local received=0
  [[ ! -f $NOTIFICATIONS ]] || received=$(wc -l < "$NOTIFICATIONS")
  if [[ ${STACK_KEEP_TMP:-0} == 1 ]]; then
    log "kept $TMP"
    ((received == 0)) || log "the receiver got $received notification(s): $NOTIFICATIONS"
  else
    ((received == 0)) || log "the receiver got $received notification(s) (removed with $TMP: STACK_KEEP_TMP=1 keeps them)"
    rm -rf -- "$TMP"
  fi
  ((${#PIDS[@]} == 0)) || log "stopped"
}

EXIT_CODE=0
# shellcheck disable=SC2317  # called from traps
on_signal() { log "$1: stopping"; EXIT_CODE=$2; stop_all; exit "$EXIT_CODE"; }
trap 'stop_all' EXIT
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGTERM 143' TERM

# The last lines of a component's log, for when it fails.
show_log() { log "last lines of $1:"; tail -n 20 "$1" >&2 || true; }

# wait_ready NAME URL: polls URL until it answers 2xx, while NAME runs.
wait_ready() {
  local name=$1 url=$2 deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
      log "$name exited before it was ready"
      show_log "$TMP/$name.log"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name not ready after ${READY_TIMEOUT}s ($url)"
      show_log "$TMP/$name.log"
      return 1
    fi
    sleep 0.3
  done
}

# Configuration.
if [[ -f $RULES_FILE ]]; then
  rules_note="$RULES_FILE"
else
  log "warning: $RULES_FILE does not exist yet: Prometheus starts without alert rules"
  rules_note="none ($RULES_FILE missing)"
fi
prometheus_config > "$TMP/prometheus.yml"
if command -v promtool >/dev/null; then
  promtool check config "$TMP/prometheus.yml" > "$TMP/promtool.log" 2>&1 \
    || { cat "$TMP/promtool.log" >&2; die "the generated Prometheus configuration is invalid"; }
fi
if [[ -f $AM_CONFIG ]]; then
  am_config="$AM_CONFIG"
else
  log "warning: $AM_CONFIG does not exist yet: Alertmanager runs with a null receiver"
  am_config="$TMP/alertmanager.yml"
  cat > "$am_config" <<'EOF'
# Fallback of deploy/local-stack.sh while alerts/alertmanager.yml is missing.
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
fi

# The admin token, and the line that gives another shell the same one (a
# throwaway token generated here, or the user's own).
if [[ -z ${REDLINE_ADMIN_TOKEN:-} && -z ${REDLINE_ADMIN_TOKEN_FILE:-} ]]; then
  REDLINE_ADMIN_TOKEN="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  export REDLINE_ADMIN_TOKEN
  token_note="generated for this run"
else
  token_note="yours"
fi
if [[ -n ${REDLINE_ADMIN_TOKEN:-} ]]; then
  token_export="export REDLINE_ADMIN_TOKEN=$(printf '%q' "$REDLINE_ADMIN_TOKEN")"
else
  token_note="from REDLINE_ADMIN_TOKEN_FILE"
  token_export="export REDLINE_ADMIN_TOKEN=\"\$(cat $(printf '%q' "$REDLINE_ADMIN_TOKEN_FILE"))\""
fi

# The webhook receiver: on the port of the configuration's loopback webhooks
# when free (or the one asked for), else on any free port; Alertmanager gets a
# copy of its configuration with the loopback webhook URLs pointing at it.
am_webhook_re='http://(127\.0\.0\.1|localhost):[0-9]+/'
RECEIVER_URL=""
if ! command -v python3 >/dev/null; then
  log "warning: no python3: no webhook receiver (Alertmanager's notifications go nowhere)"
else
  if [[ -z $RECEIVER_PORT ]]; then
    RECEIVER_PORT=$(grep -v '^[[:space:]]*#' "$am_config" | grep -oE "$am_webhook_re" | head -n 1 | sed -E 's#.*:([0-9]+)/$#\1#' || true)
    if [[ -z $RECEIVER_PORT ]]; then
      RECEIVER_PORT=0
    elif port_in_use "$RECEIVER_PORT" || [[ " ${ports[*]} " == *" $RECEIVER_PORT "* ]]; then
      log "$HOST:$RECEIVER_PORT (the webhooks' port in $am_config) is taken: the receiver takes a free port"
      RECEIVER_PORT=0
    fi
  fi
  python3 "$REPO/deploy/webhook-receiver.py" --listen "$HOST:$RECEIVER_PORT" \
    --log "$NOTIFICATIONS" --port-file "$TMP/receiver.port" 2> "$TMP/receiver.log" &
  PIDS[receiver]=$!
  deadline=$((SECONDS + READY_TIMEOUT))
  while [[ ! -s $TMP/receiver.port ]]; do
    if ! kill -0 "${PIDS[receiver]}" 2>/dev/null || ((SECONDS >= deadline)); then
      log "the webhook receiver did not start"; show_log "$TMP/receiver.log"; exit 1
    fi
    sleep 0.1
  done
  RECEIVER_PORT=$(<"$TMP/receiver.port")
  RECEIVER_URL="http://$HOST:$RECEIVER_PORT"
  wait_ready receiver "$RECEIVER_URL/" || exit 1
  sed -E "/^[[:space:]]*#/!s#$am_webhook_re#$(sed_repl "$RECEIVER_URL/")#g" "$am_config" > "$TMP/alertmanager.local.yml"
  am_config="$TMP/alertmanager.local.yml"
  if command -v amtool >/dev/null; then
    amtool check-config "$am_config" > "$TMP/amtool.log" 2>&1 \
      || { cat "$TMP/amtool.log" >&2; die "the generated Alertmanager configuration is invalid"; }
  fi
fi
# The webhook paths Alertmanager posts to (the routes), for the banner.
webhook_paths=$(grep -v '^[[:space:]]*#' "$am_config" | grep -oE "${RECEIVER_URL:-http://unset}/[^[:space:]\"']*" \
  | sed "s#^${RECEIVER_URL:-http://unset}##" | sort -u | paste -sd ' ' - || true)

mkdir -p "$TMP/prometheus-data" "$TMP/alertmanager-data"

"$ALERTMANAGER_BIN" \
  --config.file="$am_config" \
  --storage.path="$TMP/alertmanager-data" \
  --web.listen-address="$HOST:$AM_PORT" \
  --web.external-url="http://$HOST:$AM_PORT" \
  --cluster.listen-address= \
  > "$TMP/alertmanager.log" 2>&1 &
PIDS[alertmanager]=$!

"$REDLINE_BIN" demo \
  --listen "$HOST:$APP_PORT" \
  --admin-listen "$HOST:$ADMIN_PORT" \
  --load "$LOAD" \
  "${DEMO_ARGS[@]}" \
  > "$TMP/demo.log" 2>&1 &
PIDS[demo]=$!

"$PROMETHEUS_BIN" \
  --config.file="$TMP/prometheus.yml" \
  --storage.tsdb.path="$TMP/prometheus-data" \
  --storage.tsdb.retention.time=1d \
  --web.listen-address="$HOST:$PROM_PORT" \
  --web.external-url="http://$HOST:$PROM_PORT" \
  --web.enable-lifecycle \
  --enable-feature=exemplar-storage \
  > "$TMP/prometheus.log" 2>&1 &
PIDS[prometheus]=$!

wait_ready alertmanager "http://$HOST:$AM_PORT/-/ready" || exit 1
wait_ready demo "http://$HOST:$ADMIN_PORT/ready" || exit 1
wait_ready prometheus "http://$HOST:$PROM_PORT/-/ready" || exit 1

# The first of the URLs that answers 200 (redirects not followed), or a note.
http_code() { curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" 2>/dev/null || true; }
first_ok() {
  local base=$1 path
  shift
  for path; do
    if [[ $(http_code "$base$path") == 200 ]]; then printf '%s%s' "$base" "$path"; return 0; fi
  done
  printf '%s (none of %s answers)' "$base" "$*"
}
# Prometheus 2 with its React UI, and 3.x, serve /targets; Debian's package
# has only the classic UI, under /classic/.
PROM_URL="http://$HOST:$PROM_PORT"
prom_graph=$(first_ok "$PROM_URL" /graph /classic/graph)
prom_targets=$(first_ok "$PROM_URL" /targets /classic/targets)
prom_alerts=$(first_ok "$PROM_URL" /alerts /classic/alerts)
prom_rules=$(first_ok "$PROM_URL" /rules /classic/rules)
# Alertmanager's web UI loads /script.js; Debian's package serves a page
# saying it has none instead. The API is always there.
AM_URL="http://$HOST:$AM_PORT"
if [[ $(http_code "$AM_URL/script.js") == 200 ]]; then
  am_ui="$AM_URL/#/alerts"
else
  am_ui="none in this build (Debian's package ships without it): use the API or amtool"
fi
am_api=$(first_ok "$AM_URL" /api/v2/alerts)

# The error rate of the first-page estimate: the demo's --error-rate when
# given, else the one of the fault command below.
est_rate=0.5
for ((i = 0; i < ${#DEMO_ARGS[@]}; i++)); do
  case ${DEMO_ARGS[i]} in
    --error-rate) est_rate=${DEMO_ARGS[i + 1]:-$est_rate} ;;
    --error-rate=*) est_rate=${DEMO_ARGS[i]#*=} ;;
  esac
done
[[ $est_rate =~ ^(0?\.[0-9]*[1-9][0-9]*|1(\.0*)?)$ ]] || est_rate=0.5
first_page=""
if [[ -n $RECEIVER_URL && -f $RULES_FILE ]]; then
  if ! first_page=$(python3 "$REPO/deploy/first-page.py" --rules "$RULES_FILE" --alertmanager "$am_config" \
         --prometheus "$TMP/prometheus.yml" --error-rate "$est_rate" --load "$LOAD" 2> "$TMP/first-page.log"); then
    first_page="First page: not derived ($(head -n 1 "$TMP/first-page.log"))"
  fi
fi

cat <<EOF

redline local stack (no Docker)
  demo API       http://$HOST:$APP_PORT/hello   (load: $LOAD requests/s)
  demo admin     http://$HOST:$ADMIN_PORT/metrics  /health  /ready  /info  /faults
  Prometheus     graph    $prom_graph
                 targets  $prom_targets
                 alerts   $prom_alerts
                 rules    $prom_rules
  Alertmanager   web UI   $am_ui
                 alerts   $am_api
EOF
if command -v amtool >/dev/null; then
  echo "                          amtool --alertmanager.url=$AM_URL alert query"
fi
if [[ -n $RECEIVER_URL ]]; then
  cat <<EOF
  receiver       $RECEIVER_URL  (Alertmanager's webhooks: ${webhook_paths:-none in $am_config})
                 prints each notification here ("receiver: ..." lines), appends its JSON to
                 $NOTIFICATIONS
EOF
fi
cat <<EOF
  rules          $rules_note
  logs           $TMP/{demo,prometheus,alertmanager${RECEIVER_URL:+,receiver}}.log
                 (the directory is removed at exit; STACK_KEEP_TMP=1 keeps it)

Admin token ($token_note); in another shell:
  $token_export
Inject faults (error_rate 0 to 1, latency_ms up to 60000; {"error_rate":0,"latency_ms":0} stops them):
  curl -X PUT -H "Authorization: Bearer \$REDLINE_ADMIN_TOKEN" -H 'Content-Type: application/json' \\
       --data '{"error_rate":0.5}' http://$HOST:$ADMIN_PORT/faults
EOF
[[ -z $first_page ]] || printf '%s\n' "$first_page"
if [[ -n $DURATION ]]; then echo "Stops by itself after ${DURATION}s (or Ctrl-C)."; else echo "Ctrl-C to stop."; fi
echo

# A query's first value, or nothing.
query_value() {
  curl -fsS --max-time 2 "http://$HOST:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" 2>/dev/null \
    | sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}

# Wait for the first scrape of the demo (one scrape interval at most), so a
# wrong target shows up now rather than as a silent gap.
started=$SECONDS
scrape_ok=0
end=$((SECONDS + 20))
if [[ -n $DURATION ]] && ((DURATION < 20)); then end=$((SECONDS + DURATION)); fi
while ((SECONDS < end)); do
  if [[ $(query_value 'up{job="redline"}') == 1 ]]; then scrape_ok=1; break; fi
  sleep 1 & wait $! || true
done
if ((scrape_ok)); then
  log "Prometheus scrapes the demo (up{job=\"redline\"} == 1)"
  rules=$(curl -fsS --max-time 2 "http://$HOST:$PROM_PORT/api/v1/rules" 2>/dev/null | grep -o '"type":"alerting"' | wc -l || true)
  log "Prometheus loaded ${rules:-0} alerting rules"
  am=$(curl -fsS --max-time 2 "http://$HOST:$PROM_PORT/api/v1/alertmanagers" 2>/dev/null || true)
  if [[ $am == *"$HOST:$AM_PORT"* ]]; then
    log "Prometheus sends alerts to Alertmanager at $HOST:$AM_PORT"
  else
    log "warning: Prometheus does not list Alertmanager $HOST:$AM_PORT yet"
  fi
else
  log "warning: no successful scrape of the demo yet: see $prom_targets"
fi

# Run until the duration is over, a signal arrives, or a component dies.
while :; do
  for name in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
      log "$name stopped unexpectedly"
      show_log "$TMP/$name.log"
      exit 1
    fi
  done
  if [[ -n $DURATION ]] && ((SECONDS - started >= DURATION)); then
    log "duration of ${DURATION}s reached: stopping"
    break
  fi
  # In the background, so that a signal is handled at once.
  sleep 1 & wait $! || true
done
exit 0
