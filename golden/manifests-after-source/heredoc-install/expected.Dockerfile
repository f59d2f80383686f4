# syntax=docker/dockerfile:1
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN <<EOF
apt-get update
apt-get install -y --no-install-recommends sqlite3
pip install --no-cache-dir -r requirements.txt
EOF
COPY . .
CMD ["python", "app.py"]
