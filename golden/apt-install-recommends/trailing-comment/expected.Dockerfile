FROM debian:12
RUN apt-get install --no-install-recommends -y curl # the comment stays last
