FROM debian:12
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-cache policy curl | tee /versions.txt && rm -rf /var/lib/apt/lists/*
