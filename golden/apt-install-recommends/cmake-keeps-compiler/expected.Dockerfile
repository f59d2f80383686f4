FROM debian:12
RUN apt-get update && apt-get install --no-install-recommends -y cmake gcc make libc6-dev && cmake -S /src -B /build && make -C /build
