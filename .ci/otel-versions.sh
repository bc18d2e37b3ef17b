#!/usr/bin/env bash
# Fails when the build resolves more than one version of an OpenTelemetry
# crate. A mismatched set (say tracing-opentelemetry built for another
# opentelemetry release) resolves without complaint, then fails to compile
# or, worse, compiles with two separate global contexts and loses traces.
set -euo pipefail
cd "$(dirname "$0")/.."
dups=$(cargo tree -d --workspace --locked --target all --depth 0 --prefix none -e normal,build,dev \
  | grep -E '^(opentelemetry[-_a-z]*|tracing-opentelemetry) v' | sort -u || true)
if [ -n "$dups" ]; then
  echo "error: two versions of an OpenTelemetry crate are in the build:" >&2
  echo "$dups" >&2
  echo "keep opentelemetry, opentelemetry_sdk, opentelemetry-otlp, opentelemetry-proto on one 0.x release and tracing-opentelemetry on its matching release (see README)" >&2
  exit 1
fi
echo "one OpenTelemetry version set: $(cargo tree --locked -p redline --depth 1 --prefix none -e normal | grep -E '^(opentelemetry|tracing-opentelemetry)' | sort -u | tr '\n' ' ')"
