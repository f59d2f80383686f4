# syntax=docker/dockerfile:1
FROM debian:bookworm
WORKDIR /app
RUN <<EOF
set -e
apt-get update
apt-get install -y --no-install-recommends make
rm -rf /var/lib/apt/lists/*
EOF
COPY . .
RUN make
