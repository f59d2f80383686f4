FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
COPY requirements/base.txt requirements/constraints.txt ./requirements/
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "main.py"]
