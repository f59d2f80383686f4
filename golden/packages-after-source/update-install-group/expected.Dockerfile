FROM ubuntu:22.04
WORKDIR /opt/tool
RUN apt-get update
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y curl
COPY . .
RUN chmod +x run.sh
