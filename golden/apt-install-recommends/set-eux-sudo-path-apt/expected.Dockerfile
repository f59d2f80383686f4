FROM ubuntu:22.04
USER root
RUN set -eux; \
    sudo /usr/bin/apt-get -qqy install --no-install-recommends curl ca-certificates; \
    apt install --no-install-recommends -y git ca-certificates; \
    env LANG=C apt-get -y -o Dpkg::Options::=--force-confold install --no-install-recommends \
        ca-certificates
