FROM alpine:3.20
copy --chown=app:app  --chmod=644 conf.yml /etc/app/
Copy . /app
