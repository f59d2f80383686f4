# A module with its main package in cmd/server, installed into $GOPATH/bin.
FROM golang:1.22 AS build
WORKDIR /src
RUN CGO_ENABLED=0 go build -trimpath fmt net/http
COPY go.mod ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go install -trimpath ./cmd/server
EXPOSE 8080
CMD ["server", "--port", "8080"]

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /src
COPY --from=build /go/bin/server /app/server
EXPOSE 8080
CMD ["/app/server", "--port", "8080"]
