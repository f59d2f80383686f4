FROM python:3.12-slim
ENTRYPOINT ["/usr/local/bin/run", "--verbose"]
