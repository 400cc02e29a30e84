FROM python:3.13-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN useradd --system dallosh && mkdir -p /data && chown dallosh /data
USER dallosh
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "dallosh.asgi:application"]
