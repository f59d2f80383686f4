FROM alpine:3.20
COPY requirements.txt /app/
COPY src/ /app/src/
