FROM debian:bookworm-slim
WORKDIR /app
# tools the script needs
RUN apt-get update \
    && apt-get install -y --no-install-recommends jq \
    && rm -rf /var/lib/apt/lists/*
# the sources
COPY . .
CMD ["./run.sh"]
