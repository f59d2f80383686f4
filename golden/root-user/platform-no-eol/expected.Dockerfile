FROM --platform=$BUILDPLATFORM alpine:3.20 AS final
RUN addgroup -S -g 10001 app && adduser -S -D -h /home/app -u 10001 -G app app
USER 10001:10001
COPY app /usr/local/bin/app
CMD ["app"]