# escape=`
FROM debian:12
RUN apt-get update && apt-get install --no-install-recommends -y `
    gcc `
    libc6-dev
