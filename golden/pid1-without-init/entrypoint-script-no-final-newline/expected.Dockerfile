FROM ubuntu:24.04
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
COPY start.sh /usr/local/bin/start.sh
CMD ["--serve"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/start.sh"]