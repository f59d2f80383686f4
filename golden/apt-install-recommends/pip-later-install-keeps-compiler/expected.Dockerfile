FROM debian:bookworm
RUN apt-get update && apt-get install --no-install-recommends -y python3-pip ca-certificates build-essential python3-dev
RUN pip install --break-system-packages psutil==5.9.0
CMD ["python3", "-c", "import psutil; print(psutil.cpu_count())"]
