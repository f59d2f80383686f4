FROM golang:1.22 AS build
WORKDIR /go/src/app
RUN CGO_ENABLED=0 go build fmt
COPY . .
ENV CGO_ENABLED=0
RUN go build -o /usr/local/bin/app .
EXPOSE 8080
CMD ["app"]

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /go/src/app
COPY --from=build /usr/local/bin/app /usr/local/bin/app
EXPOSE 8080
CMD ["/usr/local/bin/app"]
