FROM alpine:3.20
RUN addgroup -S -g 10001 app && adduser -S -D -h /home/app -u 10001 -G app app
ENTRYPOINT ["/usr/local/bin/app"]
RUN apk add --no-cache tzdata
USER 10001:10001
    # keep the zone files

