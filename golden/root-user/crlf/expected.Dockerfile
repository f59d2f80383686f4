FROM python:3.11-slim
RUN groupadd --system --gid 10001 app && useradd --system --no-log-init --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
WORKDIR /app
RUN chown app:app /app
COPY --chown=app:app . .
RUN pip install --no-cache-dir -r requirements.txt
USER 10001:10001
CMD ["python", "app.py"]
