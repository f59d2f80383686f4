FROM alpine:3.20
RUN apk add --no-cache \
      curl \
   && rm -rf /tmp/x
RUN echo a \
   && echo b
