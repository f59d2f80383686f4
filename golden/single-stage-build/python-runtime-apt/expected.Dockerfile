FROM docker.io/library/python:3.10-bookworm AS build
WORKDIR /app
RUN python -m venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
RUN apt-get update && apt-get install -y \
        build-essential \
        libxml2-dev \
        libxslt1-dev \
        libpng-dev \
        ffmpeg \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt ./
COPY setup.py ./
RUN python -m pip install -r requirements.txt

FROM docker.io/library/python:3.10-slim-bookworm
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg libxml2 libxslt1.1 libpng16-16 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
COPY --from=build /opt/venv /opt/venv
COPY . ./
USER nobody
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8080/')"
ENTRYPOINT ["python", "-m", "media"]
CMD ["--port", "8080"]
