FROM python:3.12-slim
WORKDIR /src
COPY pyproject.toml .
RUN pip install --no-cache-dir -i https://pypi.org/simple 'click>=8' 'rich; python_version >= "3.8"' flask==3.0.0
COPY . .
RUN pip install --no-cache-dir -i https://pypi.org/simple ".[web]"
CMD ["pkg"]
