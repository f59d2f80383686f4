FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y build-essential libpcre2-dev zlib1g-dev
COPY . /usr/src/tool
WORKDIR /usr/src/tool
RUN ./configure --prefix=/opt/tool && \
    make -j2 && \
    make install

FROM debian:bookworm-slim
WORKDIR /usr/src/tool
ENV PATH=/opt/tool/bin:$PATH
RUN apt-get update && \
    apt-get install -y --no-install-recommends libpcre2-8-0 zlib1g && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/tool /opt/tool
RUN ldconfig
EXPOSE 8080
CMD ["tool", "--listen", "8080"]
