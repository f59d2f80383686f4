FROM ubuntu:22.04
RUN sudo apt-get update \
    && DEBIAN_FRONTEND=noninteractive sudo apt install -y \
        curl
