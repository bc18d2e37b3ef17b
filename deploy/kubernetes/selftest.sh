#!/usr/bin/env bash
# Shows that every check of deploy/kubernetes/check.sh can fail: for each
# check, a copy of the files it reads is broken in a temporary directory
# (never the real ones) and check.sh must report FAIL for that check. The
# unbroken copy must pass.
#
#   deploy/kubernetes/selftest.sh
#
# Same needs as check.sh; kubectl for the kustomize case (skipped without).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly REPO
TMP="$(mktemp -d "${TMPDIR:-/tmp}/redline-k8s-selftest.XXXXXX")"
trap 'rm -rf -- "$TMP"' EXIT

# A tree with what check.sh reads, without a redline binary (so the flags
# are read from demo/src/main.rs).
fresh() {
  rm -rf "$TMP/repo"
  mkdir -p "$TMP/repo/src/admin" "$TMP/repo/demo/src" "$TMP/repo/deploy"
  cp -r "$REPO/alerts" "$TMP/repo/"
  cp -r "$REPO/deploy/kubernetes" "$TMP/repo/deploy/"
  cp "$REPO/src/admin/mod.rs" "$TMP/repo/src/admin/"
  cp "$REPO/src/settings.rs" "$TMP/repo/src/"
  cp "$REPO/demo/src/main.rs" "$TMP/repo/demo/src/"
  cp "$REPO/Dockerfile" "$TMP/repo/"
}

K="$TMP/repo/deploy/kubernetes"
bad=0

# expect CHECK-NAME-PREFIX DESCRIPTION: check.sh on the broken copy must
# print "FAIL  CHECK-NAME-PREFIX...".
expect() {
  local check=$1 what=$2 out
  out=$(cd "$TMP/repo" && REDLINE_BIN=/nonexistent bash deploy/kubernetes/check.sh 2>&1) && {
    echo "NOT DETECTED  $what (check.sh passed)"; bad=1; return; }
  if grep -qF "FAIL  $check" <<< "$out"; then
    printf 'detected      %-62s -> FAIL  %s\n' "$what" "$check"
  else
    echo "NOT DETECTED  $what: no 'FAIL  $check' in:"; printf '%s\n' "$out"; bad=1
  fi
}

fresh
if (cd "$TMP/repo" && REDLINE_BIN=/nonexistent bash deploy/kubernetes/check.sh > "$TMP/clean.out" 2>&1); then
  echo "ok            the unbroken copy passes"
else
  echo "FAIL          the unbroken copy fails:"; cat "$TMP/clean.out"; bad=1
fi

fresh; sed -i 's/^  type: ClusterIP$/  type: ClusterIP\n  loadBalancerIp: 10.0.0.1/' "$K/service.yaml"
expect "kubernetes-validate" "service.yaml: unknown field (strict)"
fresh; sed -i 's/^type: Opaque$/type: Opaque\nstringdata: {}/' "$K/secret.example.yaml"
expect "kubernetes-validate" "secret.example.yaml: unknown field (strict)"
fresh; sed -i 's/^  maxUnavailable: 1$/  maxUnavailable: [1]/' "$K/pdb.yaml"
expect "kubernetes-validate" "pdb.yaml: wrong type"
fresh; sed -i '0,/^    app.kubernetes.io\/part-of: redline$/s//    app.kubernetes.io\/part-of: redline\nspec:\n  finalizers: 3/' "$K/namespace.yaml"
expect "kubernetes-validate" "namespace.yaml: wrong type"

fresh; echo "# edited after generating" >> "$TMP/repo/alerts/redline.rules.yml"
expect "prometheusrule.yaml == generate.py" "rules source changed, prometheusrule.yaml not regenerated"
fresh; sed -i 's/vector(0.999)/vector(0.998)/' "$K/prometheusrule.yaml"
expect "prometheusrule.yaml == generate.py" "prometheusrule.yaml edited by hand"

fresh; sed -i 's/expr: vector(0.999)/expr: vector(0.999/' "$TMP/repo/alerts/redline.rules.yml"
(cd "$TMP/repo" && python3 deploy/kubernetes/generate.py >/dev/null)
expect "promtool check rules" "a rule with a broken expression (regenerated)"

fresh; sed -i '/^  - pdb.yaml$/d' "$K/kustomization.yaml"
expect "kustomization.yaml lists" "pdb.yaml not listed"
fresh; sed -i 's/^  - otel-collector.yaml$/  - otel-collector.yaml\n  - secret.example.yaml/' "$K/kustomization.yaml"
expect "kustomization.yaml lists" "the example Secret listed"
fresh; sed -i '0,/^  name: redline$/s//  name: redline\n  namespace: default/' "$K/service.yaml"
expect "kustomization.yaml lists" "a manifest sets its own namespace"
fresh; sed -i 's/^  name: redline$/  name: redline-other/' "$K/namespace.yaml"
expect "kustomization.yaml lists" "namespace.yaml is not kustomization's namespace"
if command -v kubectl >/dev/null; then
  fresh; sed -i 's/^  - pdb.yaml$/  - pdb.yaml\n  - missing.yaml/' "$K/kustomization.yaml"
  expect "kubectl kustomize builds" "a resource kustomize cannot find"
fi

fresh; sed -i 's#path: /ready$#path: /readyz#' "$K/deployment.yaml"
expect "probes and scrape on admin routes" "readinessProbe on /readyz"
fresh; sed -i 's#path: /alive$#path: /info#' "$K/deployment.yaml"
expect "probes and scrape on admin routes" "liveness on a token-only route"
fresh; sed -i '0,/port: admin$/s//port: http/' "$K/deployment.yaml"
expect "probes and scrape on admin routes" "startupProbe on the API port"
fresh; sed -i '0,/path: \/metrics$/s//path: \/metrics2/' "$K/servicemonitor.yaml"
expect "probes and scrape on admin routes" "ServiceMonitor path not /metrics"

fresh; sed -i 's/"--load", "20"/"--loads", "20"/' "$K/deployment.yaml"
expect "container args are redline demo flags" "--loads is no flag"
fresh; sed -i 's/"--admin-listen", "0.0.0.0:9464"/"--admin-listen", "0.0.0.0:9465"/' "$K/deployment.yaml"
expect "container args are redline demo flags" "--admin-listen port is not containerPort admin"

fresh; sed -i 's/- name: REDLINE_LOG$/- name: REDLINE_LOGG/' "$K/deployment.yaml"
expect "REDLINE_* variables are known settings" "REDLINE_LOGG (unknown, stops redline)"

fresh; sed -i 's/terminationGracePeriodSeconds: 30$/terminationGracePeriodSeconds: 20/' "$K/deployment.yaml"
expect "terminationGracePeriodSeconds covers the drain" "grace period 20 < 5 + 10 + 3 + 5"
fresh; sed -i '/name: REDLINE_SHUTDOWN_GRACE/{n;s/value: 10s/value: 25s/}' "$K/deployment.yaml"
expect "terminationGracePeriodSeconds covers the drain" "REDLINE_SHUTDOWN_GRACE raised to 25s"
fresh; sed -i 's/^  replicas: 3$/  replicas: 2/' "$K/deployment.yaml"
expect "replicas, pods hardened, images pinned" "replicas 2"

fresh; sed -i '/authorization:/,/key: token/d' "$K/servicemonitor.yaml"
expect "selectors, ports, Secret, collector wiring" "REDLINE_METRICS_AUTH on, ServiceMonitor without the token"
fresh; sed -i 's#value: /var/run/secrets/redline/admin-token#value: /run/secrets/admin-token#' "$K/deployment.yaml"
expect "selectors, ports, Secret, collector wiring" "REDLINE_ADMIN_TOKEN_FILE not the mounted file"
fresh; sed -i 's#value: http://otel-collector:4317#value: http://otel-collector:4318#' "$K/deployment.yaml"
expect "selectors, ports, Secret, collector wiring" "OTLP endpoint on the collector's HTTP port"
fresh; sed -i 's/^    - port: admin$/    - port: metrics/' "$K/servicemonitor.yaml"
expect "selectors, ports, Secret, collector wiring" "ServiceMonitor port not a Service port"
fresh; sed -i 's/processors: \[memory_limiter, batch\]/processors: [batch, memory_limiter]/' "$K/otel-collector.yaml"
expect "selectors, ports, Secret, collector wiring" "collector: memory_limiter not first"
fresh; sed -i 's/^  token: .*/  token: 0123456789abcdef0123456789abcdef/' "$K/secret.example.yaml"
expect "selectors, ports, Secret, collector wiring" "the example Secret holds a usable token"

fresh; sed -i '0,/readOnlyRootFilesystem: true/s//readOnlyRootFilesystem: false/' "$K/deployment.yaml"
expect "replicas, pods hardened, images pinned" "redline: writable root file system"
fresh; sed -i 's/drop: \["ALL"\]/drop: ["NET_RAW"]/' "$K/otel-collector.yaml"
expect "replicas, pods hardened, images pinned" "collector: capabilities not all dropped"
fresh; sed -i 's#image: ghcr.io/redline-rs/redline:0.1.0#image: ghcr.io/redline-rs/redline:latest#' "$K/deployment.yaml"
expect "replicas, pods hardened, images pinned" "image tag latest"
fresh; sed -i '/^            limits:$/,/memory: 256Mi/d' "$K/deployment.yaml"
expect "replicas, pods hardened, images pinned" "no resource limits"

echo
if ((bad)); then echo "selftest: some breakage went unnoticed"; exit 1; fi
echo "selftest: every breakage detected"
