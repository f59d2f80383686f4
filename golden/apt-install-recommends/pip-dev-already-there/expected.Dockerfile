FROM debian:bookworm
RUN apt-get update && apt-get install --no-install-recommends -y build-essential
RUN apt-get update && apt-get install --no-install-recommends -y python3-pip python3.11-dev ca-certificates && pip3 install --break-system-packages uwsgi
