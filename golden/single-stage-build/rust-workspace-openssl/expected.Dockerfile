FROM rust:1.75 AS build
WORKDIR /app
COPY . .
RUN cargo build --release -p server

FROM debian:bookworm-slim
WORKDIR /app
RUN apt-get update && \
    apt-get install -y --no-install-recommends libssl3 ca-certificates && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /app/target/release/server /app/target/release/server
ENTRYPOINT ["/app/target/release/server"]
