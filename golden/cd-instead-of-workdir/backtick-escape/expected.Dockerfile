# escape=`
FROM debian:12
WORKDIR /app
WORKDIR /src
RUN make
WORKDIR /app
