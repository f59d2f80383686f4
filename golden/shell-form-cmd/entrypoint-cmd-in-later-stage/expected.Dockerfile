FROM alpine:3.20 AS base
ENTRYPOINT ["/bin/sh", "-c", "/usr/local/bin/run"]

FROM base
CMD ["serve"]
