FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY app.py .
HEALTHCHECK CMD curl -f http://localhost:8000/ || exit 1
CMD ["python", "app.py"]
