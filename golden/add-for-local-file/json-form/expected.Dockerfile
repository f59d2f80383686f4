FROM alpine:3.20
COPY ["my file.txt", "/data/"]
