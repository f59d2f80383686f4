FROM python:3.12
WORKDIR /app
  WORKDIR /src
  RUN --mount=type=cache,target=/root/.cache pip install .
  WORKDIR /app
