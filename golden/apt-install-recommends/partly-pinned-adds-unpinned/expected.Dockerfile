FROM ubuntu:18.04
RUN apt-get update && apt-get install --no-install-recommends -y wget=1.19.4-1ubuntu2.1 unzip ca-certificates
