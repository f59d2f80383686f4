FROM debian:12
RUN mkdir -p /opt/app && \
    touch /opt/app/a && \
    chmod 600 /opt/app/a
CMD ["sh"]
