FROM debian:12
# refresh the index

# tools
RUN apt-get update -q \
    && apt-get install -y \
        curl \
    && rm -rf /var/lib/apt/lists/*
