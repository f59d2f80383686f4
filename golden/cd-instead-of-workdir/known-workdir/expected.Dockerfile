FROM golang:1.22
WORKDIR /app
WORKDIR /src
# build
RUN go build ./...
WORKDIR /app
COPY . .
