# One image with every Switchboard binary; docker-compose.yml picks the one to run.
FROM rust:1.89-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not refetch the registry.
COPY Cargo.toml Cargo.lock ./
COPY shared ./shared
COPY services ./services
COPY tests ./tests
RUN cargo build --release --locked --bins \
 && mkdir -p /out \
 && cp target/release/switchboard-ingest target/release/switchboard-router target/release/switchboard-calls \
       target/release/switchboard-analytics target/release/switchboard target/release/st-sim /out/

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin switchboard
COPY --from=build /out/ /usr/local/bin/
COPY config/switchboard.toml /etc/switchboard/switchboard.toml
COPY services/st-sim/seed/demo.json /etc/switchboard/st-sim-seed.json
ENV SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.toml
USER 10001
EXPOSE 8080
CMD ["switchboard-ingest"]
