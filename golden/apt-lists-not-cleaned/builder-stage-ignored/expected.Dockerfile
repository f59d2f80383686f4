FROM debian:12 AS build
RUN apt-get update && apt-get install -y gcc
FROM debian:12 AS base
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
FROM base
RUN echo hi
