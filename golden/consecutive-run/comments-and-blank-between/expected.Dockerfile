FROM alpine:3.20
RUN apk add --no-cache git && \
# fetch the sources
  # (shallow)
    git clone --depth 1 https://example.com/r.git /src
