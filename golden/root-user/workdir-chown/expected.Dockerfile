FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 app && useradd --system --no-log-init --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
WORKDIR /data
RUN chown app:app /data
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
USER 10001:10001
CMD ["sh", "-c", "date > now.txt && cat now.txt"]
