# Multi-stage build of the bp-failover binary. Built from this repository with crates.io
# as the only network source. (Not built in this project's CI: no container engine there.)
FROM rust:1-slim-bookworm AS build
WORKDIR /src
# The build image has no git: pass the commit for `--version`, e.g.
#   docker build --build-arg BP_FAILOVER_GIT_COMMIT=$(git rev-parse --short HEAD) .
# (without it, --version says "unknown"). build.rs reads it from the environment.
ARG BP_FAILOVER_GIT_COMMIT=
COPY . .
RUN cargo build --release --locked --bin bp-failover

FROM debian:bookworm-slim
# curl only for the HEALTHCHECK below (the image has no other HTTP client).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin bpfailover \
 && install -d -m 0700 -o bpfailover -g bpfailover /var/lib/bp-failover
COPY --from=build /src/target/release/bp-failover /usr/local/bin/bp-failover
# The process runs as uid 10001 (user bpfailover), not root: the mounted key file must be
# readable by that uid and private (mode 0600), e.g. on the host
#   chown 10001 /etc/bp-failover/failover.key && chmod 600 /etc/bp-failover/failover.key
# A root-owned 0600 key cannot be read inside the container.
USER bpfailover
# Mount the config and the key read-only, and a volume for the state, e.g.
#   -v /etc/bp-failover:/etc/bp-failover:ro -e BP_FAILOVER_CONFIG=/etc/bp-failover/config.toml
#   -v bp-failover-state:/var/lib/bp-failover
# The metrics port ([metrics] listen); bind 0.0.0.0:9810 inside the container to publish it.
EXPOSE 9810
# Healthy while the decision loop runs: /healthz answers 503 once it has not run for
# [metrics] healthz_max_age_secs. Needs [metrics] listen on 127.0.0.1:9810 or 0.0.0.0:9810
# (change the URL if you use another port); without [metrics] the check fails, so set it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["curl", "-fsS", "--max-time", "4", "-o", "/dev/null", "http://127.0.0.1:9810/healthz"]
ENTRYPOINT ["/usr/local/bin/bp-failover"]
CMD ["--help"]
