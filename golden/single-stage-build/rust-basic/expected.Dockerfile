FROM rust:1.77-bookworm AS build
WORKDIR /usr/src/app
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && \
    echo 'fn main() {}' > src/main.rs && \
    cargo build --release --locked && \
    rm -rf src target/release/.fingerprint/hello-rs-* target/release/deps/hello_rs-* target/release/hello-rs*
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
WORKDIR /usr/src/app
ENV RUST_LOG=info
COPY --from=build /usr/src/app/target/release/hello-rs /usr/src/app/target/release/hello-rs
EXPOSE 8080
# The server.
CMD ["./target/release/hello-rs", "--serve"]
