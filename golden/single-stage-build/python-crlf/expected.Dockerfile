FROM python:3.11-bookworm as build
arg APP_ENV=production
env APP_ENV=${APP_ENV}
workdir /app
run python -m venv /opt/venv
env VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
copy . .
run apt-get update && apt-get install -y build-essential python3-dev \
    && pip install -r requirements.txt

from python:3.11-slim-bookworm
arg APP_ENV=production
env APP_ENV=${APP_ENV}
workdir /app
env VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
copy --from=build /opt/venv /opt/venv
copy . .
expose 5000
cmd python app.py
