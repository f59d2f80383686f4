FROM alpine:3.20
RUN apk add --no-cache --virtual .build-deps \
        gcc \
    && sudo apk add --no-cache \
        musl-dev \
    && apk del .build-deps
