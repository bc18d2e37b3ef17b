#!/usr/bin/env bash
# What a service pays at build time for HTTP metrics, side by side: crates
# compiled and clean-build wall time (dev profile, `cargo build`, 2 jobs) of
# three small crates doing the same job (an axum route, HTTP metrics,
# `/metrics`), built from empty target directories in ROUNDS interleaved
# rounds (the order rotates each round):
#   core   redline with default-features = false (examples/http-metrics-only)
#   peer   axum-prometheus 0.10 with axum and tokio
#   all    redline with every feature (the same code as core)
# Sources are downloaded first (`cargo fetch`), outside the timing. Prints
# every build, the median time of each, and the median of the per-round
# ratios core/peer and all/peer. Needs crates.io; not part of CI.
#
#   bash benches/build_cost.sh            # 3 rounds
#   ROUNDS=5 bash benches/build_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
ROUNDS=${ROUNDS:-3}
JOBS=${JOBS:-2}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# core: the repository's own crate, pointed at this checkout.
mkdir -p "$WORK/core"
cp -r examples/http-metrics-only/src "$WORK/core/"
sed "s|path = \"../..\"|path = \"$REPO\"|" examples/http-metrics-only/Cargo.toml > "$WORK/core/Cargo.toml"
# all: the same code with redline's default features (all of them).
mkdir -p "$WORK/all"
cp -r "$WORK/core/src" "$WORK/all/"
sed 's|, default-features = false }| }|; s|name = "http-metrics-only"|name = "http-metrics-all"|' \
  "$WORK/core/Cargo.toml" > "$WORK/all/Cargo.toml"
sed -i 's|http_metrics_only::|http_metrics_all::|g' "$WORK/all/src/main.rs"
# peer: axum-prometheus doing the same job.
mkdir -p "$WORK/peer/src"
cat > "$WORK/peer/Cargo.toml" <<'EOF'
[package]
name = "http-metrics-peer"
version = "0.1.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
axum-prometheus = "0.10"
axum = { version = "0.8", default-features = false, features = ["http1", "tokio"] }
tokio = { version = "1", features = ["rt-multi-thread", "macros", "net", "io-util"] }
EOF
cat > "$WORK/peer/src/main.rs" <<'EOF'
use axum::{Router, routing::get};
use axum_prometheus::PrometheusMetricLayer;

#[tokio::main]
async fn main() {
    let (layer, handle) = PrometheusMetricLayer::pair();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .route("/metrics", get(move || async move { handle.render() }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
EOF

for c in core peer all; do
  (cd "$WORK/$c" && cargo generate-lockfile -q && cargo fetch -q)
done

declare -A TIMES CRATES
ORDER=(core peer all)
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${ORDER[@]}"; do
    rm -rf "$WORK/$c/target"
    start=$(date +%s.%N)
    (cd "$WORK/$c" && CARGO_TERM_COLOR=never cargo build --offline --jobs "$JOBS" 2> "$WORK/$c.log")
    end=$(date +%s.%N)
    t=$(awk "BEGIN { printf \"%.2f\", $end - $start }")
    n=$(grep -c '^ *Compiling ' "$WORK/$c.log")
    TIMES[$c]="${TIMES[$c]:-} $t"
    CRATES[$c]=$n
    printf 'round %d  %-4s  %6.1f s  %3d crates compiled\n' "$r" "$c" "$t" "$n"
  done
  ORDER=("${ORDER[@]:1}" "${ORDER[0]}")
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
for c in core peer all; do
  printf '%-4s  median %6.1f s  %3d crates compiled\n' "$c" "$(echo "${TIMES[$c]}" | median)" "${CRATES[$c]}"
done
read -ra tc <<< "${TIMES[core]}"; read -ra tp <<< "${TIMES[peer]}"; read -ra ta <<< "${TIMES[all]}"
core_ratio=""; all_ratio=""
for ((i = 0; i < ROUNDS; i++)); do
  core_ratio+=" $(awk "BEGIN { printf \"%.3f\", ${tc[$i]} / ${tp[$i]} }")"
  all_ratio+=" $(awk "BEGIN { printf \"%.3f\", ${ta[$i]} / ${tp[$i]} }")"
done
echo "core/peer, median of per-round ratios: $(echo "$core_ratio" | median)"
echo "all/peer,  median of per-round ratios: $(echo "$all_ratio" | median)"
echo "versions: $(cd "$WORK/peer" && cargo tree --depth 1 --prefix none -e normal | grep -E '^(axum-prometheus|axum) ' | tr '\n' ' ')"
echo "rustc: $(rustc --version); cores: $(nproc)"
