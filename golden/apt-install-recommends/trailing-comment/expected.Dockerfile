FROM debian:12
RUN apt-get install --no-install-recommends -y curl ca-certificates # the comment stays last
