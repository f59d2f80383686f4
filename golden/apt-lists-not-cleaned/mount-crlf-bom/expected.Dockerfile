# syntax=docker/dockerfile:1
FROM debian:12
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked rm -f /etc/apt/apt.conf.d/docker-clean; apt-get update && apt-get install -y curl
