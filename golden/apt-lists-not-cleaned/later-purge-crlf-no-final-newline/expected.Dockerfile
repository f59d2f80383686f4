FROM ubuntu:22.04
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-get remove -y \
    python3-software-properties && \
    rm -rf /var/lib/apt/lists/*