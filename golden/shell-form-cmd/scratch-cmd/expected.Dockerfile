FROM scratch
COPY app /app
CMD ["/app", "--port", "8080"]
