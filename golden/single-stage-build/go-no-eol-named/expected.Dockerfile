FROM golang:1.22 AS app
WORKDIR /w
COPY main.go go.mod ./
ENV CGO_ENABLED=0
RUN go build -o /out/tool main.go
CMD ["/out/tool", "serve"]

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /w
COPY --from=app /out/tool /app/tool
CMD ["/app/tool", "serve"]