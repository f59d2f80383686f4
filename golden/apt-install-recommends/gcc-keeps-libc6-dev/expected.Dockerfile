FROM debian:12
COPY hello.c /src/
RUN apt-get update && apt-get install --no-install-recommends -y gcc libc6-dev && gcc -o /usr/local/bin/hello /src/hello.c
