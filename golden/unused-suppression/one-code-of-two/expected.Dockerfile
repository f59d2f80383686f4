FROM debian:12-slim
# dockopt: ignore=DO204
RUN apt-get update && apt-get install -y --no-install-recommends curl
CMD ["curl"]
