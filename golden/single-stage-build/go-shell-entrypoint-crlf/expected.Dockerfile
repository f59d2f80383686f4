from golang:1.22-alpine as build
workdir /src
copy . .
env CGO_ENABLED=0
run apk add --no-cache git && \
    go build -o bin/api ./cmd/api
expose 9000
entrypoint /src/bin/api --port 9000

from gcr.io/distroless/static-debian12:nonroot
workdir /src
copy --from=build /src/bin/api /app/api
expose 9000
entrypoint ["/app/api", "--port", "9000"]
