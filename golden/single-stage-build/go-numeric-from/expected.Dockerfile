FROM node:20 AS build
WORKDIR /ui
COPY ui/ .
RUN npm ci && npm run build

FROM alpine:3.19
COPY --from=0 /ui/dist /srv/ui
RUN tar -czf /ui.tgz /srv/ui

FROM golang:1.22 AS builder
WORKDIR /app
COPY . .
RUN CGO_ENABLED=0 go build -o server ./cmd/server
CMD ./server

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=builder /app/server /app/server
CMD ["/app/server"]
