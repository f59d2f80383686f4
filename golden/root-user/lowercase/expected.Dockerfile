from ubuntu:22.04
run groupadd --system --gid 10001 app && useradd --system --no-log-init --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
run apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*
user 10001:10001
workdir /app
copy --chown=app:app app.py .
cmd ["python3", "app.py"]
