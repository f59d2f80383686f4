FROM ubuntu:22.04 AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ cmake make \
       libcurl4-openssl-dev zlib1g-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src ./src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build --parallel

FROM ubuntu:22.04
WORKDIR /src
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4 zlib1g ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/fetcher /src/build/fetcher
LABEL org.opencontainers.image.title="fetcher"
STOPSIGNAL SIGINT
ENTRYPOINT ["/src/build/fetcher"]
CMD ["--help"]
