FROM debian:12
RUN apt-get update \
 && apt-get install --no-install-recommends -y \
      # the compiler
      gcc \
      wget \
      ca-certificates \
      libc6-dev