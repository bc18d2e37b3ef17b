#!/usr/bin/env bash
# Checks the alerting configuration with the real tools:
#   the generated rule and fleet test files equal their generators' output,
#   promtool check rules, promtool test rules, a runbook section for every
#   runbook_url, amtool check-config, and the routing cases of
#   alertmanager.routes.test.
# Usage: alerts/check.sh (from anywhere). Needs promtool (Prometheus 2.42+)
# and amtool (Alertmanager 0.25+) on PATH. Exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

echo "== generated files are up to date (generate.py, fleet_tests.py)"
python3 generate.py --check
python3 fleet_tests.py --check

echo "== promtool check rules redline.rules.yml"
promtool check rules redline.rules.yml

echo "== promtool test rules" ./*.test.yml
promtool test rules ./*.test.yml

echo "== runbook sections for every runbook_url (../docs/RUNBOOK.md)"
sections=0
while read -r anchor; do
    sections=$((sections + 1))
    if ! grep -qix "## ${anchor}" ../docs/RUNBOOK.md; then
        echo "no heading \"## ${anchor}\" (any case) in docs/RUNBOOK.md" >&2
        exit 1
    fi
done < <(grep -o 'RUNBOOK.md#[a-z0-9-]*' redline.rules.yml | cut -d'#' -f2 | sort -u)
echo "all $sections runbook sections present"

echo "== amtool check-config alertmanager.yml"
amtool check-config alertmanager.yml

echo "== amtool config routes test (alertmanager.routes.test)"
cases=0
failed=0
while read -r expected labels; do
    case "$expected" in '' | '#'*) continue ;; esac
    cases=$((cases + 1))
    # shellcheck disable=SC2086 # the labels are separate arguments
    if got=$(amtool config routes test --config.file=alertmanager.yml \
        --verify.receivers="$expected" $labels 2>/dev/null); then
        echo "ok   $expected <- $labels"
    else
        echo "FAIL expected $expected, got ${got//$'\n'/ } <- $labels"
        failed=$((failed + 1))
    fi
done < alertmanager.routes.test

if [ "$cases" -eq 0 ]; then
    echo "no routing case found in alertmanager.routes.test" >&2
    exit 1
fi
if [ "$failed" -ne 0 ]; then
    echo "$failed of $cases routing cases failed" >&2
    exit 1
fi
echo "all $cases routing cases pass"
echo "== all checks passed"
