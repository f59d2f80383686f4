FROM python:3.12-slim
RUN groupadd --system --gid 10001 app && useradd --system --no-log-init --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /srv/app
RUN chown app:app /srv/app
COPY --chown=app:app requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
USER 10001:10001
COPY --chown=1000:1000 src/ ./src/
COPY config.yml /etc/app/config.yml
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["gunicorn", "-b", "0.0.0.0:8000", "src.app:app"]
