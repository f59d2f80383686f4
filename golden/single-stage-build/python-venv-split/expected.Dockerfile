# syntax=docker/dockerfile:1
FROM python:3.12 AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /srv/app
RUN python -m venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
# Build tools for psycopg2 (no wheel for this Python).
RUN apt-get update && \
    apt-get install -y --no-install-recommends gcc libpq-dev && \
    rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir --upgrade pip && \
    pip install --no-cache-dir -r requirements.txt
COPY . .
LABEL org.opencontainers.image.title="orders"
EXPOSE 8000
# Serve with gunicorn.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "orders.wsgi"]

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /srv/app
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
COPY --from=app /opt/venv /opt/venv
COPY . .
LABEL org.opencontainers.image.title="orders"
EXPOSE 8000
# Serve with gunicorn.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "orders.wsgi"]
