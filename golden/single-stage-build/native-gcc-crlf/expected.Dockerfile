from debian:12 as build
run apt-get update && apt-get install -y gcc libc6-dev zlib1g-dev
copy main.c /build/
run gcc -O2 -o /usr/local/bin/crc /build/main.c -lz

from debian:12-slim
run apt-get update && \
    apt-get install -y --no-install-recommends zlib1g && \
    rm -rf /var/lib/apt/lists/*
copy --from=build /usr/local/bin/crc /usr/local/bin/crc
entrypoint ["crc"]
