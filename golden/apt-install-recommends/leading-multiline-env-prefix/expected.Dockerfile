FROM debian:12
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install --no-install-recommends -y \
       curl \
       git \
       ca-certificates \
    && rm -rf /var/lib/apt/lists/*
