# Build
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY config ./config
RUN cargo build --release --locked --bin qrdesk

# Run
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin qrdesk \
 && mkdir -p /data /app/config && chown qrdesk /data
WORKDIR /app
COPY --from=build /src/target/release/qrdesk /usr/local/bin/qrdesk
COPY config/default.toml /app/config/default.toml
ENV QRDESK_SERVER__LISTEN=0.0.0.0:8080 \
    QRDESK_SERVER__DATA_DIR=/data
USER qrdesk
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["qrdesk"]
CMD ["serve"]
