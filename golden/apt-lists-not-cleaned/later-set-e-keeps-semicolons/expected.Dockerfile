FROM debian:12
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
RUN set -eux; \
    apt-get update; apt-get install -y git; \
    git --version && \
    rm -rf /var/lib/apt/lists/*
