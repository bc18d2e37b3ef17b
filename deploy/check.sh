#!/usr/bin/env bash
# Static checks of the stack files: Dockerfile, docker-compose.yml, deploy/.
# No Docker engine needed.
#
#   deploy/check.sh
#
# Needs: Debian's docker-compose (1.29) or Docker Compose v2, promtool
# (package prometheus); uses, when present: amtool (prometheus-alertmanager),
# python3 with PyYAML, kubernetes-validate (PyPI), kubectl, shellcheck, and a
# redline binary (REDLINE_BIN or target/release/redline). A check whose tool
# or input is missing is skipped with a message; every other problem fails.
# Exit status 1 when one failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO
cd "$REPO"

COMPOSE_FILE=docker-compose.yml
PROM_CONFIG=deploy/prometheus.yml
RULES=alerts/redline.rules.yml
AM_CONFIG=alerts/alertmanager.yml
COLLECTOR_CONFIG=deploy/otel-collector.yml

TMP="$(mktemp -d "${TMPDIR:-/tmp}/redline-check.XXXXXX")"
trap 'rm -rf -- "$TMP"' EXIT

# shellcheck source=deploy/checks-lib.sh
source "$REPO/deploy/checks-lib.sh"

compose() {
  if command -v docker-compose >/dev/null; then
    docker-compose -f "$COMPOSE_FILE" "$@"
  elif command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
    docker compose -f "$COMPOSE_FILE" "$@"
  else
    echo "neither docker-compose nor docker compose is installed (apt-get install -y docker-compose)"
    return 1
  fi
}

# -------------------------------------------------------------- checks ----

check_compose_config() {
  # -q: validate only. Anything on stderr (warnings about unset variables,
  # deprecated keys) fails the check too, except Compose v2's note that the
  # `version` key (kept for docker-compose 1.29) is obsolete.
  compose config -q 2> "$TMP/compose.err" || { cat "$TMP/compose.err"; return 1; }
  if grep -v 'version.*obsolete' "$TMP/compose.err" | grep -q .; then cat "$TMP/compose.err"; return 1; fi
}

# An exact version: v1.2.3, 1.2.3, 1.2.3-suffix (rust:1.95.0-bookworm) or
# 12.12-slim for Debian's point releases; optionally @sha256:digest.
readonly PINNED_TAG='^v?[0-9]+\.[0-9]+(\.[0-9]+)?(-[A-Za-z0-9._-]+)?$'
check_pinned() { # image reference, where
  local ref=${1%@sha256:*} where=$2 last name tag
  last=${ref##*/}
  if [[ $last != *:* ]]; then echo "$where: $1 has no tag"; return 1; fi
  tag=${last##*:}
  name=${ref%:*}
  if [[ $tag == *latest* || ! $tag =~ $PINNED_TAG ]]; then
    echo "$where: $1: tag '$tag' is not an exact version"; return 1
  fi
  # MAJOR.MINOR alone only for Debian (its point releases); else MAJOR.MINOR.PATCH.
  if [[ ! $tag =~ ^v?[0-9]+\.[0-9]+\.[0-9]+ && $name != debian ]]; then
    echo "$where: $1: tag '$tag' lacks the patch version"; return 1
  fi
}

check_images_pinned() {
  local n=0 bad=0 line ref
  while IFS= read -r line; do
    ref=$(sed -E 's/^[[:space:]]*image:[[:space:]]*["'\'']?([^"'\''[:space:]#]+).*/\1/' <<< "$line")
    n=$((n + 1))
    check_pinned "$ref" "$COMPOSE_FILE" || bad=1
  done < <(grep -E '^[[:space:]]*image:' "$COMPOSE_FILE")
  ((n > 0)) || { echo "no image: found in $COMPOSE_FILE"; return 1; }
  # Base images of the Dockerfile (stage names excepted).
  local stages=() from
  while read -r _ from rest; do
    [[ $from == --platform=* ]] && read -r from rest <<< "$rest"
    if [[ " ${stages[*]} " != *" $from "* ]]; then
      check_pinned "$from" Dockerfile || bad=1
    fi
    if [[ $rest =~ [Aa][Ss][[:space:]]+([^[:space:]]+) ]]; then stages+=("${BASH_REMATCH[1]}"); fi
  done < <(grep -iE '^[[:space:]]*FROM[[:space:]]' Dockerfile)
  return "$bad"
}

check_compose_consistency() {
  local services bad=0 host
  services=$(compose config --services) || return 1
  # Every scrape and alerting target of prometheus.yml is a compose service.
  for host in $(grep -v '^[[:space:]]*#' "$PROM_CONFIG" | grep -oE '"[A-Za-z0-9._-]+:[0-9]+"' | tr -d '"' | cut -d: -f1 | sort -u); do
    grep -qx "$host" <<< "$services" || { echo "$PROM_CONFIG targets $host, which is not a service of $COMPOSE_FILE"; bad=1; }
  done
  # The rule file path is inside the alerts/ mount of the prometheus service.
  grep -qE '^[[:space:]]*-[[:space:]]*/etc/prometheus/alerts/redline\.rules\.yml' "$PROM_CONFIG" \
    || { echo "$PROM_CONFIG: rule_files must list /etc/prometheus/alerts/redline.rules.yml"; bad=1; }
  grep -qE '\./alerts:/etc/prometheus/alerts(:ro)?' "$COMPOSE_FILE" \
    || { echo "$COMPOSE_FILE: prometheus must mount ./alerts at /etc/prometheus/alerts"; bad=1; }
  grep -qE '\./deploy/prometheus\.yml:/etc/prometheus/prometheus\.yml' "$COMPOSE_FILE" \
    || { echo "$COMPOSE_FILE: prometheus must mount ./deploy/prometheus.yml"; bad=1; }
  grep -qE '\./deploy/otel-collector\.yml:' "$COMPOSE_FILE" \
    || { echo "$COMPOSE_FILE: the collector must mount ./deploy/otel-collector.yml"; bad=1; }
  grep -q -- '--enable-feature=exemplar-storage' "$COMPOSE_FILE" \
    || { echo "$COMPOSE_FILE: prometheus needs --enable-feature=exemplar-storage"; bad=1; }
  return "$bad"
}

# deploy/prometheus.yml with its in-container rule path pointing at the
# repository's file; without that file, no rule_files (and a note).
check_prometheus_config() {
  command -v promtool >/dev/null || { skip "promtool not installed (apt-get install -y prometheus)"; return; }
  if [[ -f $RULES ]]; then
    sed "s#/etc/prometheus/alerts/#$REPO/alerts/#g" "$PROM_CONFIG" > "$TMP/prometheus.yml"
  else
    echo "note: $RULES does not exist yet: checked without rule_files"
    sed '\#/etc/prometheus/alerts/#d' "$PROM_CONFIG" > "$TMP/prometheus.yml"
  fi
  promtool check config "$TMP/prometheus.yml"
}

check_prometheus_rules_present() {
  [[ -f $RULES ]] || { skip "$RULES does not exist yet (promtool checked the config without it)"; return; }
  # check config parsed it already; make sure it found rules at all.
  command -v promtool >/dev/null || { skip "promtool not installed"; return; }
  promtool check rules "$RULES" > "$TMP/rules.out" 2>&1 || { cat "$TMP/rules.out"; return 1; }
  grep -qE 'SUCCESS: [1-9][0-9]* rules found' "$TMP/rules.out" || { cat "$TMP/rules.out"; return 1; }
}

check_local_stack_config() {
  command -v promtool >/dev/null || { skip "promtool not installed (apt-get install -y prometheus)"; return; }
  bash deploy/local-stack.sh --print-prometheus-config > "$TMP/local.yml" 2> "$TMP/local.err" \
    || { cat "$TMP/local.err"; return 1; }
  if grep -vE '^[[:space:]]*#' "$TMP/local.yml" | grep -qE '(app|prometheus|alertmanager|otel-collector):[0-9]+'; then
    echo "the loopback configuration still names a compose host:"; cat "$TMP/local.yml"; return 1
  fi
  promtool check config "$TMP/local.yml"
}

check_alertmanager_config() {
  [[ -f $AM_CONFIG ]] || { skip "$AM_CONFIG does not exist yet"; return; }
  command -v amtool >/dev/null || { skip "amtool not installed (apt-get install -y prometheus-alertmanager)"; return; }
  amtool check-config "$AM_CONFIG"
}

check_collector_config() {
  command -v python3 >/dev/null || { skip "python3 not installed"; return; }
  python3 -c 'import yaml' 2>/dev/null || { skip "python3 has no PyYAML (apt-get install -y python3-yaml)"; return; }
  python3 - "$COLLECTOR_CONFIG" <<'EOF'
import sys, yaml
path = sys.argv[1]
with open(path) as f:
    cfg = yaml.safe_load(f)
errors = []
def need(cond, msg):
    if not cond:
        errors.append(msg)
need(isinstance(cfg, dict), "not a mapping")
svc = cfg.get("service", {})
pipelines = svc.get("pipelines", {})
need("traces" in pipelines, "no traces pipeline")
for name, p in pipelines.items():
    for kind in ("receivers", "processors", "exporters"):
        for comp in p.get(kind, []) or []:
            need(comp in (cfg.get(kind) or {}), f"pipeline {name}: {kind[:-1]} {comp!r} is not defined under {kind}")
    procs = p.get("processors", []) or []
    need(procs[:1] == ["memory_limiter"], f"pipeline {name}: memory_limiter must come first")
    need(procs[-1:] == ["batch"], f"pipeline {name}: batch must come last")
for ext in svc.get("extensions", []) or []:
    need(ext in (cfg.get("extensions") or {}), f"extension {ext!r} is not defined")
ml = (cfg.get("processors") or {}).get("memory_limiter") or {}
for key in ("check_interval", "limit_mib", "spike_limit_mib"):
    need(key in ml, f"memory_limiter: {key} missing")
if "limit_mib" in ml and "spike_limit_mib" in ml:
    need(ml["spike_limit_mib"] < ml["limit_mib"], "memory_limiter: spike_limit_mib must be below limit_mib")
otlp = ((cfg.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}
need(str((otlp.get("grpc") or {}).get("endpoint", "")).endswith(":4317"), "otlp receiver: grpc on :4317")
need(str((otlp.get("http") or {}).get("endpoint", "")).endswith(":4318"), "otlp receiver: http on :4318")
exporters = cfg.get("exporters") or {}
need(any(str((e or {}).get("endpoint", "")) == "jaeger:4317" for e in exporters.values()),
     "no exporter to jaeger:4317")
readers = (((svc.get("telemetry") or {}).get("metrics") or {}).get("readers")) or []
need(any(((r.get("pull") or {}).get("exporter") or {}).get("prometheus", {}).get("port") == 8888 for r in readers),
     "service.telemetry.metrics: no Prometheus reader on :8888")
for e in errors:
    print(f"{path}: {e}")
sys.exit(1 if errors else 0)
EOF
}

check_scripts() {
  local f bad=0
  for f in deploy/*.sh deploy/kubernetes/*.sh; do bash -n "$f" || bad=1; done
  if command -v shellcheck >/dev/null; then
    shellcheck deploy/*.sh deploy/kubernetes/*.sh || bad=1
  else
    echo "note: shellcheck not installed: syntax only"
  fi
  return "$bad"
}

check_dockerfile() {
  local bad=0
  grep -qE '^FROM rust:[^ ]+ AS builder' Dockerfile || { echo "builder stage: FROM rust:... AS builder"; bad=1; }
  grep -qE 'cargo build --release --locked' Dockerfile || { echo "the build must use cargo build --release --locked"; bad=1; }
  local user
  user=$(sed -nE 's/^USER[[:space:]]+([^:[:space:]]+).*/\1/p' Dockerfile | tail -n 1)
  [[ -n $user && $user != root && $user != 0 ]] || { echo "the runtime must not run as root (USER)"; bad=1; }
  grep -qE '^EXPOSE 8080 9464$' Dockerfile || { echo "EXPOSE 8080 9464"; bad=1; }
  grep -qE '^ENTRYPOINT \["redline"\]$' Dockerfile || { echo 'ENTRYPOINT ["redline"]'; bad=1; }
  # The dependency layer copies Cargo.toml, Cargo.lock, build.rs and benches/
  # and stubs src/: cargo reads the manifest there, so every target it names
  # must exist. Each [[test]] and [[example]] table needs its file stubbed
  # (touched) in the Dockerfile's dependency layer.
  local table name
  while read -r table; do
    case $table in
      '[[bin]]'|'[[bench]]'|'[[test]]'|'[[example]]') ;;
      *) echo "Cargo.toml has $table targets: handle them in the Dockerfile's dependency layer, then allow them here"; bad=1 ;;
    esac
  done < <(grep -oE '^\[\[[a-z]+\]\]' Cargo.toml | sort -u)
  while read -r table name; do
    local dir=tests
    [[ $table == '[[example]]' ]] && dir=examples
    grep -qE "touch .*\b$dir/$name\.rs\b" Dockerfile \
      || { echo "Cargo.toml names $table $name: touch $dir/$name.rs in the Dockerfile's dependency layer"; bad=1; }
  done < <(awk '/^\[\[(test|example)\]\]/ { t = $0; next } t && /^name = / { gsub(/"/, "", $3); print t, $3; t = "" }' Cargo.toml)
  # The Rust version of the builder is the crate's rust-version.
  local msrv builder
  msrv=$(sed -nE 's/^rust-version = "([0-9]+\.[0-9]+).*/\1/p' Cargo.toml)
  builder=$(sed -nE 's/^FROM rust:([0-9]+\.[0-9]+).*/\1/p' Dockerfile)
  [[ -z $msrv || $msrv == "$builder" ]] || { echo "builder rust:$builder but Cargo.toml rust-version $msrv"; bad=1; }
  return "$bad"
}

# The CMD's flags exist in the binary this tree builds.
check_cmd_flags() {
  local bin=${REDLINE_BIN:-target/release/redline} flag help
  [[ -x $bin ]] || { skip "no redline binary (build it, or set REDLINE_BIN)"; return; }
  help=$("$bin" demo --help) || return 1
  for flag in $(sed -nE 's/^CMD \[(.*)\]$/\1/p' Dockerfile | tr -d '",' | tr ' ' '\n' | grep -E '^--'); do
    grep -q -- "$flag " <<< "$help" || { echo "$bin demo has no $flag"; return 1; }
  done
}

# deploy/kubernetes/: kubernetes-validate --strict on the core kinds, the
# generated PrometheusRule, promtool, kustomization and consistency checks
# (its own check.sh, which lists them). kubernetes-validate comes from PyPI
# (.ci/test installs it; deploy/kubernetes/check.sh alone installs it too).
check_kubernetes() {
  command -v python3 >/dev/null || { skip "python3 not installed"; return; }
  python3 -c 'import kubernetes_validate' 2>/dev/null \
    || { skip "kubernetes-validate not installed (python3 -m pip install kubernetes-validate)"; return; }
  bash deploy/kubernetes/check.sh
}

run "docker-compose config" check_compose_config
run "images pinned to exact versions" check_images_pinned
run "compose and prometheus.yml agree" check_compose_consistency
run "promtool check config (deploy/prometheus.yml)" check_prometheus_config
run "promtool check rules (alerts/redline.rules.yml)" check_prometheus_rules_present
run "promtool check config (local-stack loopback copy)" check_local_stack_config
run "amtool check-config (alerts/alertmanager.yml)" check_alertmanager_config
run "collector configuration" check_collector_config
run "Dockerfile" check_dockerfile
run "Dockerfile CMD flags exist" check_cmd_flags
run "Kubernetes manifests (deploy/kubernetes/check.sh)" check_kubernetes
run "deploy scripts (bash -n, shellcheck)" check_scripts

echo "deploy-check: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
