# The API server.
FROM golang:1.21-bookworm AS build
ARG VERSION=dev
LABEL org.opencontainers.image.title="server"
ENV GOFLAGS=-mod=mod
ENV APP_VERSION=${VERSION} \
    LOG_LEVEL=info
WORKDIR /src
COPY go.mod ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}"
USER 65532:65532
STOPSIGNAL SIGTERM
# Serve.
ENTRYPOINT ["./server"]
CMD ["--listen", ":8080"]

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
WORKDIR /src
ENV APP_VERSION=${VERSION} \
    LOG_LEVEL=info
COPY --from=build /src/server /app/server
LABEL org.opencontainers.image.title="server"
USER 65532:65532
STOPSIGNAL SIGTERM
# Serve.
ENTRYPOINT ["/app/server"]
CMD ["--listen", ":8080"]
