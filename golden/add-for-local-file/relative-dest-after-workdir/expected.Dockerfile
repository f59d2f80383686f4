FROM alpine:3.20 AS base
WORKDIR /app

FROM base
COPY package.json ./
