ARG VERSION=dev
ARG VCS_REF
FROM golang:1.22 AS build
ARG VERSION
RUN go build -ldflags "-X main.version=${VERSION}" -o /app .

FROM gcr.io/distroless/static-debian12
COPY --from=build /app /app
# The app reads nothing else.
ENTRYPOINT ["/app"]
ARG VERSION
ARG VCS_REF
LABEL org.opencontainers.image.version=$VERSION org.opencontainers.image.revision=$VCS_REF
