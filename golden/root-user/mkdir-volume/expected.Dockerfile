FROM python:3.12-slim
RUN groupadd --system --gid 10001 app && useradd --system --no-log-init --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
WORKDIR /app
RUN chown app:app /app
RUN mkdir -p /app/results /tmp/app-cache /usr/share/man/man1
RUN mkdir -p /data && chown app:app /data
# the uploads live in a volume
VOLUME /data
RUN chown app:app /app/results /tmp/app-cache
USER 10001:10001
COPY --chown=app:app . .
CMD ["python", "app.py"]
