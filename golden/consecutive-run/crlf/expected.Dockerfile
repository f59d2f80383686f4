FROM debian:12
RUN apt-get update && \
# next
    apt-get install -y curl
