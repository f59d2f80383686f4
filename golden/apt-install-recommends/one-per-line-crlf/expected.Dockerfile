FROM debian:12
RUN apt-get update && apt-get install --no-install-recommends -y \
    curl \
    gcc \
    ca-certificates \
    libc6-dev
