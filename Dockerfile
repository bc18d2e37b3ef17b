# redline demo service image.
#
#   docker build -t redline .
#   docker run --rm -p 8080:8080 -p 9464:9464 -e REDLINE_ADMIN_TOKEN=... redline
#
# Build arguments (both optional):
#   REDLINE_GIT_REVISION  the revision shown by build_info and /info; .git is
#                         not in the build context (.dockerignore), so pass it:
#                         --build-arg REDLINE_GIT_REVISION=$(git rev-parse --short=12 HEAD)
#   SOURCE_DATE_EPOCH     build time for build_info (reproducible builds).
#
# Plain `docker build` syntax only (no BuildKit cache mounts), so the classic
# builder and Debian's docker-compose 1.29 build it too.

# ---------------------------------------------------------------- builder ----
# Same minor as `rust-version` in Cargo.toml.
FROM rust:1.95.0-bookworm AS builder

ARG REDLINE_GIT_REVISION=unknown
ARG SOURCE_DATE_EPOCH
ENV REDLINE_GIT_REVISION=${REDLINE_GIT_REVISION} \
    CARGO_TERM_COLOR=never

WORKDIR /src

# 1. Dependencies only, in their own layer: rebuilt when Cargo.toml or
#    Cargo.lock change, not on every source edit. The targets named in
#    Cargo.toml must exist for cargo to read the manifest: benches/ is copied,
#    and the [[test]] and [[example]] tables (feature-gated targets) get
#    empty stand-ins, which a release build of the binary never compiles.
COPY Cargo.toml Cargo.lock build.rs ./
COPY demo/Cargo.toml demo/build.rs ./demo/
COPY benches ./benches
RUN mkdir -p src demo/src tests examples \
 && echo 'fn main() {}' > demo/src/main.rs \
 && touch src/lib.rs demo/src/lib.rs \
 && touch tests/traces.rs tests/tail_sampling.rs tests/tls.rs tests/otlp_tls.rs tests/tonic.rs tests/logging_layer.rs \
 && touch examples/bench_server.rs examples/callgrind_layer.rs \
 && cargo build --release --locked \
 && rm -rf src demo/src

# 2. The library and the demo crate (its `redline` binary). Files that src/
#    includes (README.md, docs/) come with the rest of the context; touch so
#    cargo rebuilds over the stubs above.
COPY . .
RUN touch src/lib.rs demo/src/lib.rs demo/src/main.rs \
 && cargo build --release --locked \
 && install -D -m 0755 target/release/redline /out/redline

# ---------------------------------------------------------------- runtime ----
FROM debian:12.12-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --create-home \
        --shell /usr/sbin/nologin redline

COPY --from=builder /out/redline /usr/local/bin/redline

USER redline:redline
WORKDIR /app

# 8080: the demo API. 9464: admin listener (/metrics, /health, /ready, /alive,
# /info, /faults...). The admin token comes from REDLINE_ADMIN_TOKEN or
# REDLINE_ADMIN_TOKEN_FILE; without one the demo generates one and prints it.
EXPOSE 8080 9464

# Readiness of the admin listener, without curl (not in the slim image): a
# plain HTTP/1.1 request over bash's /dev/tcp, healthy on "200". If you move
# the admin listener, set REDLINE_HEALTHCHECK_PORT to its port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${REDLINE_HEALTHCHECK_PORT:-9464} && printf 'GET /ready HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 2 status <&3 && [[ $status == 'HTTP/1.1 200'* ]]"]

# The demo stops gracefully on SIGTERM (readiness drains, in-flight requests
# finish within REDLINE_SHUTDOWN_GRACE, spans are flushed).
STOPSIGNAL SIGTERM

ENTRYPOINT ["redline"]
CMD ["demo", "--listen", "0.0.0.0:8080", "--admin-listen", "0.0.0.0:9464", "--load", "20"]
