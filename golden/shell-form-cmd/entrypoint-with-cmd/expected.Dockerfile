FROM alpine:3.20
ENTRYPOINT ["/bin/sh", "-c", "/usr/local/bin/run --verbose"]
CMD ["--help"]
