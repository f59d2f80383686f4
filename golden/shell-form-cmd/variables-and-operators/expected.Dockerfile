FROM alpine:3.20
ENV PORT=8080
CMD ["/bin/sh", "-c", "app --port $PORT"]
CMD ["/bin/sh", "-c", "app serve && tail -f /log"]
CMD ["/bin/sh", "-c", "app 2>&1 | tee /log"]
ENTRYPOINT ["/bin/sh", "-c", "exec app \"$@\""]
