from alpine:3.20
label org.opencontainers.image.authors="ops@example.com"
