FROM debian:bookworm
RUN apt-get update && apt-get install --no-install-recommends -y python3-pip ca-certificates
CMD ["python3", "-m", "http.server"]
