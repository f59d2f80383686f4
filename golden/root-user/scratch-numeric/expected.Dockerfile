FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .

FROM scratch
USER 10001:10001
WORKDIR /app
COPY --chown=10001:10001 --from=build /out/app .
ENTRYPOINT ["/app/app"]
