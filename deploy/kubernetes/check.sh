#!/usr/bin/env bash
# Checks of the Kubernetes manifests of deploy/kubernetes/. No cluster needed.
#
#   deploy/kubernetes/check.sh
#
# 1. kubernetes-validate (PyPI; installed with pip when missing) validates
#    every core-kind manifest, the example Secret included, strictly
#    (unknown fields fail) against Kubernetes $KUBERNETES_VERSION;
# 2. prometheusrule.yaml is what generate.py makes of alerts/redline.rules.yml;
# 3. promtool check rules on the PrometheusRule's spec.groups;
# 4. kustomization.yaml lists every manifest but secret.example.yaml, and
#    only kustomize sets namespaces (plus `kubectl kustomize`, when kubectl
#    is installed: everything builds into that namespace);
# 5. consistency with the code and between the manifests: probe and scrape
#    paths are admin routes (src/admin/mod.rs), the container's flags are the
#    demo CLI's (REDLINE_BIN or target/release/redline `demo --help`, else
#    demo/src/main.rs), REDLINE_* variables are settings, the drain fits in
#    terminationGracePeriodSeconds, selectors/ports/Secret/collector agree,
#    every pod is hardened and every image pinned.
#
# Needs python3 with pip (PyYAML comes with kubernetes-validate) and promtool
# (package prometheus). Prints ok/FAIL/skip per check; exit status 1 when one
# failed. Run by deploy/check.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO
cd "$REPO"

# The Kubernetes version the manifests must be valid for: the oldest minor
# they claim to support (every field used exists there). Override with
# KUBERNETES_VERSION=1.33.0 deploy/kubernetes/check.sh.
KUBERNETES_VERSION=${KUBERNETES_VERSION:-1.31.0}
DIR=deploy/kubernetes
CONSISTENCY=(python3 "$DIR/consistency.py")

TMP="$(mktemp -d "${TMPDIR:-/tmp}/redline-k8s-check.XXXXXX")"
trap 'rm -rf -- "$TMP"' EXIT

# shellcheck source=deploy/checks-lib.sh
source "$DIR/../checks-lib.sh"

# kubernetes-validate, run as a module (a pip --user install may leave its
# script outside PATH). Debian's own python3 refuses pip installs outside a
# virtual environment (PEP 668): then into the user's site-packages.
ensure_kubernetes_validate() {
  python3 -c 'import kubernetes_validate' 2>/dev/null && return 0
  echo "installing kubernetes-validate (pip)"
  python3 -m pip install --quiet kubernetes-validate 2> "$TMP/pip.err" \
    || PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --user kubernetes-validate \
    || { cat "$TMP/pip.err"; return 1; }
  python3 -c 'import kubernetes_validate'
}

# -------------------------------------------------------------- checks ----

check_validate() {
  local files=() docs
  "${CONSISTENCY[@]}" core-files > "$TMP/core-files" || { cat "$TMP/core-files"; return 1; }
  mapfile -t files < "$TMP/core-files"
  ((${#files[@]})) || { echo "no core-kind manifest found"; return 1; }
  python3 -m kubernetes_validate --strict --kubernetes-version "$KUBERNETES_VERSION" "${files[@]}" \
    > "$TMP/kv.out" 2>&1 || { cat "$TMP/kv.out"; return 1; }
  cat "$TMP/kv.out"
  # A kind without a schema is only a warning there: every object must pass.
  if grep -qvE '^INFO .* passed for resource ' "$TMP/kv.out"; then
    echo "kubernetes-validate did not pass every object (above)"; return 1
  fi
  docs=$(python3 -c 'import sys, yaml; print(sum(1 for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d))' "${files[@]}")
  [[ $(grep -c ' passed for resource ' "$TMP/kv.out") == "$docs" ]] \
    || { echo "$docs objects, but not as many 'passed' lines"; return 1; }
}

check_generated() {
  python3 "$DIR/generate.py" --check
}

check_rules() {
  command -v promtool >/dev/null || { skip "promtool not installed (apt-get install -y prometheus)"; return; }
  "${CONSISTENCY[@]}" extract-groups "$TMP/groups.yml" || return 1
  promtool check rules "$TMP/groups.yml" > "$TMP/promtool.out" 2>&1 || { cat "$TMP/promtool.out"; return 1; }
  grep -qE 'SUCCESS: [1-9][0-9]* rules found' "$TMP/promtool.out" || { cat "$TMP/promtool.out"; return 1; }
}

check_kustomization() {
  "${CONSISTENCY[@]}" kustomization
}

check_kustomize_build() {
  command -v kubectl >/dev/null || { skip "kubectl not installed"; return; }
  local ns
  ns=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["namespace"])' "$DIR/kustomization.yaml") || return 1
  kubectl kustomize "$DIR" > "$TMP/built.yaml" || return 1
  "${CONSISTENCY[@]}" built "$ns" < "$TMP/built.yaml"
}

check_routes() { "${CONSISTENCY[@]}" routes; }

check_flags() {
  local bin=${REDLINE_BIN:-target/release/redline}
  if [[ -x $bin ]]; then "${CONSISTENCY[@]}" flags "$bin"; else "${CONSISTENCY[@]}" flags; fi
}

check_env() { "${CONSISTENCY[@]}" env; }
check_timings() { "${CONSISTENCY[@]}" timings; }
check_wiring() { "${CONSISTENCY[@]}" wiring; }
check_hardening() { "${CONSISTENCY[@]}" hardening; }

command -v python3 >/dev/null || { echo "FAIL  python3 is not installed"; exit 1; }
if ! ensure_kubernetes_validate > "$TMP/install.out" 2>&1; then
  echo "FAIL  install kubernetes-validate (python3 -m pip install kubernetes-validate)"
  sed 's/^/      /' "$TMP/install.out"
  exit 1
fi

run "kubernetes-validate --strict, Kubernetes $KUBERNETES_VERSION (core kinds, example Secret)" check_validate
run "prometheusrule.yaml == generate.py output" check_generated
run "promtool check rules (PrometheusRule spec.groups)" check_rules
run "kustomization.yaml lists every manifest; kustomize sets the namespace" check_kustomization
run "kubectl kustomize builds into one namespace" check_kustomize_build
run "probes and scrape on admin routes (src/admin/mod.rs ROUTES)" check_routes
run "container args are redline demo flags" check_flags
run "REDLINE_* variables are known settings" check_env
run "terminationGracePeriodSeconds covers the drain" check_timings
run "selectors, ports, Secret, collector wiring" check_wiring
run "replicas, pods hardened, images pinned" check_hardening

echo "kubernetes-check: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
