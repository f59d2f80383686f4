FROM alpine:3.19
WORKDIR /src
RUN apk add --no-cache git ca-certificates
COPY go.mod go.sum ./
COPY . .
EXPOSE 8080
RUN go build -o /app .
