# shellcheck shell=bash
# The ok/skip/FAIL harness of the static check scripts (deploy/check.sh,
# deploy/kubernetes/check.sh), sourced by each after it has set TMP to a
# temporary directory of its own. A check is a function: exit status 0 is
# ok, 3 (through `skip "why"`) is skipped, anything else fails and shows the
# check's output.

# shellcheck disable=SC2034 # read by the scripts that source this file
passed=0 failed=0 skipped=0
SKIP_REASON=""
# In a check: `... || { skip "why"; return; }` (set -e is off inside checks,
# which run on the left of ||, so every failure must be returned explicitly).
skip() { SKIP_REASON="$*"; return 3; }

# run NAME FUNCTION [ARGS...]: runs a check, shows its output when it fails.
run() {
  local name=$1 status=0
  shift
  SKIP_REASON=""
  "$@" > "$TMP/out" 2>&1 || status=$?
  case $status in
    0) passed=$((passed + 1)); printf 'ok    %s\n' "$name" ;;
    3) skipped=$((skipped + 1)); printf 'skip  %s: %s\n' "$name" "$SKIP_REASON" ;;
    *) failed=$((failed + 1)); printf 'FAIL  %s\n' "$name"; sed 's/^/      /' "$TMP/out" ;;
  esac
}
