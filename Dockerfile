# Builds the `chat` binary; used by docker-compose.yml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# With the EventStoreDB/KurrentDB backend compiled in (used only when
# EVENTSTORE_URL is set; see docs/decisions/0006-kurrentdb-backend.md), and
# `s3`: media in MinIO/S3 (docker-compose sets S3_*).
RUN cargo build --release --locked --bin chat --features kurrentdb,s3

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data chat && mkdir -p /data && chown chat /data
COPY --from=build /src/target/release/chat /usr/local/bin/chat
USER chat
WORKDIR /data
EXPOSE 8080
ENTRYPOINT ["chat"]
CMD ["serve"]
