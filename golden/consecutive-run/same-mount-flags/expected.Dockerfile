FROM python:3.12
RUN --mount=type=cache,target=/root/.cache pip install -U pip && \
    pip install flask
