FROM alpine:3.20
ARG SRC=app.py
COPY ${SRC} /app/
COPY *.py /app/
