FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt ./
RUN set -ex; \
    pip install -r requirements.txt; \
    pip install gunicorn
COPY . .
CMD ["gunicorn", "app:app"]
