# Multi-stage build of the bp-failover binary. Built from this repository with crates.io
# as the only network source. (Not built in this project's CI: no container engine there.)
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin bp-failover

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin bpfailover
COPY --from=build /src/target/release/bp-failover /usr/local/bin/bp-failover
USER bpfailover
# Mount the config and the key read-only, e.g.
#   -v /etc/bp-failover:/etc/bp-failover:ro -e BP_FAILOVER_CONFIG=/etc/bp-failover/config.toml
ENTRYPOINT ["/usr/local/bin/bp-failover"]
CMD ["--help"]
