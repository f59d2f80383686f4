FROM alpine:3.20
LABEL org.opencontainers.image.authors="\"Jo\" \$USER \\o/ <jo@example.com>"   
