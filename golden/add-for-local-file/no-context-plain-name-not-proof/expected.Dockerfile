FROM alpine:3.20
ADD payload.dat /srv/
COPY . /app/
