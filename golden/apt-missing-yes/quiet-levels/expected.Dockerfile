FROM debian:12
RUN apt-get -q install -y curl
RUN apt-get -qq install git
RUN apt-get -q -q install make
