FROM alpine:3.20
ARG CONF=app.conf
COPY $CONF /etc/app/
ENV CONF2=app.conf
COPY "${CONF2}" /etc/app/
