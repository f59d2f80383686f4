FROM rust:1.80-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo install --path .

FROM debian:bookworm-slim
WORKDIR /src
COPY --from=build /usr/local/cargo/bin/greeter /usr/local/bin/greeter
CMD ["greeter"]
