FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y build-essential libssl-dev zlib1g-dev

WORKDIR /root/nghttp2
COPY nghttp2 .
RUN ./configure
RUN make
RUN make install

WORKDIR /root/curl
COPY curl .
RUN ./configure --with-ssl --with-nghttp2=/usr/local
RUN make
RUN make install
RUN ldconfig

FROM debian:bookworm-slim
WORKDIR /root/curl
RUN apt-get update && \
    apt-get install -y --no-install-recommends libssl3 zlib1g && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local /usr/local
RUN ldconfig
CMD ["-h"]
ENTRYPOINT ["/usr/local/bin/curl"]
