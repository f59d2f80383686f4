FROM alpine:3.19
RUN addgroup -S -g 10001 app && adduser -S -D -h /home/app -u 10001 -G app app
RUN apk add --no-cache ca-certificates
USER 10001:10001
WORKDIR /opt/app
COPY --chown=app:app bin/server ./server
ENTRYPOINT ["./server"]
