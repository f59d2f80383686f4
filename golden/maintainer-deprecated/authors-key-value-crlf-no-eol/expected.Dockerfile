FROM alpine:3.20
LABEL org.opencontainers.image.authors="Jane \$HOME <jane@example.com>"