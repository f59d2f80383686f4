FROM debian:12
WORKDIR /src/
RUN make
