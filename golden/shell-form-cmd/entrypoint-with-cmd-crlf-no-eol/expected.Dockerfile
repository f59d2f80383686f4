FROM alpine:3.20
CMD ["x"]
ENTRYPOINT ["/bin/sh", "-c", "/run   --port 80"]