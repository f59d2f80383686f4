FROM python:3.12
ENV POETRY_VIRTUALENVS_CREATE=false
WORKDIR /code
COPY pyproject.toml poetry.lock README.md /code/
RUN pip install poetry==1.8.3 && poetry install --no-interaction --only main --no-root
COPY . /code
RUN poetry install --no-interaction --only-root
CMD ["python", "-m", "app"]
