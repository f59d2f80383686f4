FROM alpine:3.20
COPY vendor /opt/vendor
COPY ./ /src/