FROM docker.io/library/python:3.11-slim-bookworm AS build
WORKDIR /app
RUN python -m venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential \
      libxml2-dev \
      libxslt1-dev \
      curl \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt setup.cfg ./
RUN pip install -r requirements.txt

FROM docker.io/library/python:3.11-slim-bookworm
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl libxml2 libxslt1.1 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
COPY --from=build /opt/venv /opt/venv
COPY . .
USER nobody
HEALTHCHECK CMD curl -fs http://localhost:8080/health || exit 1
CMD ["python", "-m", "feeds"]
