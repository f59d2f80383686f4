FROM alpine:3.20
ARG APP_VERSION
LABEL maintainer="ops@example.com"
RUN echo "$APP_VERSION" > /etc/app-version
CMD ["cat", "/etc/app-version"]
LABEL org.opencontainers.image.version=$APP_VERSION