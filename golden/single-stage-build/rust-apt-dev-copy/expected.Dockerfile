FROM rust:1.80-slim-bookworm AS build
RUN apt-get update && apt-get install -y pkg-config libpq-dev libclang-dev tzdata
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && \
    echo 'fn main() {}' > src/main.rs && \
    cargo build --release && \
    rm -rf src target/release/.fingerprint/pgtool-* target/release/deps/pgtool-* target/release/pgtool*
COPY src ./src
RUN cargo build --release && cp target/release/pgtool /usr/local/bin/

FROM debian:bookworm-slim
WORKDIR /build
RUN apt-get update && \
    apt-get install -y --no-install-recommends libpq5 tzdata && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/pgtool /usr/local/bin/pgtool
USER nobody
CMD ["pgtool"]
