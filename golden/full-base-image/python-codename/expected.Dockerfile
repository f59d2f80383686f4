FROM docker.io/library/python:3.12-slim-bookworm
COPY main.py /main.py
CMD ["python", "/main.py"]
