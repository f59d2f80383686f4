FROM scratch
CMD ["/app", "--port", "8080"]
