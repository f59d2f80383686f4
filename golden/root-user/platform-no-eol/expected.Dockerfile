FROM --platform=$BUILDPLATFORM alpine:3.20 AS final
RUN addgroup -S -g 10001 app && adduser -S -D -H -u 10001 -G app app
COPY app /usr/local/bin/app
USER 10001:10001
CMD ["app"]