FROM golang:1.22 AS build
COPY . /src
WORKDIR /src
RUN go build -o /out/app .

FROM scratch
COPY --from=build /out/app /app
