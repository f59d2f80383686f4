FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y build-essential libssl-dev ca-certificates
WORKDIR /app
COPY . .
RUN make

FROM debian:bookworm-slim
WORKDIR /app
ENV PORT=8080
RUN apt-get update && \
    apt-get install -y --no-install-recommends libssl3 ca-certificates && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /app/hello /app/hello
EXPOSE 8080
# Serve on $PORT.
CMD ["./hello", "--serve"]
