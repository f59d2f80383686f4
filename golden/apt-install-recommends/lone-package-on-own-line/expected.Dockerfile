FROM python:3.11
RUN apt-get update -y && apt-get install --no-install-recommends -y \
    cmake \
    gcc \
    make \
    libc6-dev
RUN apt-get update && apt-get install --no-install-recommends -y gcc libc6-dev
