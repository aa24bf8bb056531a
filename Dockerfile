# One image with every Switchboard binary; docker-compose.yml picks the one to run.
#
# Build caching (docs/deployment.md has the measured times), one layer per floor:
#   1. dependencies: cargo-chef reduces the workspace to a recipe of its manifests, so this
#      layer is rebuilt only when a Cargo.toml or Cargo.lock changes;
#   2. the shared crates (shared/), with every service still a stub from the recipe;
#   3. the services (services/, tests/).
# An edit to a service recompiles the services only, never the ~300 dependencies or the
# shared crates.
FROM rust:1.89-slim-bookworm AS chef
RUN cargo install cargo-chef --version 0.1.78 --locked \
 && rm -rf "$CARGO_HOME/registry"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
# The binaries the image ships; the same list for the dependency layer and the final build,
# so both resolve the same features.
ENV BINS="--bin switchboard-ingest --bin switchboard-router --bin switchboard-calls --bin switchboard-analytics --bin switchboard-booking --bin switchboard --bin st-sim"
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json $BINS
COPY Cargo.toml Cargo.lock ./
COPY shared ./shared
RUN cargo build --release --locked $BINS
COPY services ./services
COPY tests ./tests
# The layer above built every service as a stub, and cargo decides what is stale by
# modification time, which a checkout's files need not beat: clean the services' artifacts
# so each is compiled from its real source, then check that no binary is a stub (a stub's
# main prints nothing; every real binary prints its usage).
RUN cargo clean --release -p switchboard-ingest -p switchboard-router -p switchboard-calls \
       -p switchboard-analytics -p switchboard-booking -p switchboard-cli -p switchboard-st-sim \
 && cargo build --release --locked $BINS \
 && mkdir -p /out \
 && for bin in switchboard-ingest switchboard-router switchboard-calls switchboard-analytics switchboard-booking switchboard st-sim; do \
      cp "target/release/$bin" /out/ \
      && { "/out/$bin" --help 2>&1 | grep -qi usage || { echo "$bin is a stub build" >&2; exit 1; }; }; \
    done

FROM debian:bookworm-slim
# TLS roots: the ServiceTitan client (https://api.servicetitan.io) and any HTTPS webhook
# target need them, and the HTTP client refuses to start without them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin switchboard
COPY --from=build /out/ /usr/local/bin/
# No configuration is baked in: mount yours at this path (docker-compose.yml mounts the
# demo's from ./config) or point SWITCHBOARD_CONFIG elsewhere.
ENV SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.toml
USER 10001
EXPOSE 8080 8081 8082 8083 8084 8090
CMD ["switchboard-ingest"]
