# eggbot: a plain, slim image. Build: docker build -t eggbot .  Run: docker run --env-file .env -v eggbot-data:/data eggbot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/eggbot.db

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /app eggbot \
    && mkdir -p /data && chown eggbot /data

USER eggbot
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
